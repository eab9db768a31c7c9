"""Stage 3: the pytest adapter. Turns checklists into items and runs them through stage 2."""
