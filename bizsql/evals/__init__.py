"""Answer quality you can measure: golden sets, the scorer, the whole-schema baseline and `bizsql eval`."""
