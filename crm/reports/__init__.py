"""Reports: what a mission achieved, as a page and a PDF in Arabic, French or English."""
