"""pimdse search room: `search/` (the engine), `results/` (reading studies), `app/` (the pimdse app)."""
