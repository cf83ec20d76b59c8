"""Browser tests of the phone pages (headless Chromium against the real app under uvicorn)."""
