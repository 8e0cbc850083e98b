"""Receipt OCR: Tesseract run in a process pool (the pipeline arrives with its issue)."""
