"""The HTTP routes, one module per group: auth, businesses, chat, conversations, debug, health, the
LangServe graph and its playground. Their request and response models live in ``api.schemas``."""
