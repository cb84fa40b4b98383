"""Schema retrieval: a FAISS index of each business's tables, keyword signals beside it, and how much of
what it finds the SQL prompt shows."""
