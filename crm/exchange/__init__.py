"""Data in and out: imports of organisations, contacts and leads from CSV and XLSX (upload,
column mapping, preview, one-transaction import, error report, revert) and exports of the
lead, organisation and contact lists."""
