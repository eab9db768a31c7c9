"""Stage 4: results -> one verdict, and the reports around it (terminal table, Markdown
summary, GitHub annotations, evidence bundle). Fails closed: anything missing or
unusable is a failure, never a pass."""
