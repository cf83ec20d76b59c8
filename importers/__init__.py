"""Excel layer of the quarterly stocktake (盘点): no database, no web framework.

- ``count_sheet.parse_count_sheet`` reads a counting sheet (盘点表) filled in Excel, WPS or
  LibreOffice into typed rows and row-level errors in Chinese; ``SheetUnreadable`` when the file
  is not a readable .xlsx or has no recognisable table header.
- ``sheet_writer.write_count_sheet`` writes the sheet a depot fills in, ``write_error_copy`` a copy
  of an upload with bad cells in red and a 错误说明 column, ``write_variance`` the variance report.
- ``cells`` normalises what people type (full-width digits, "1,200", 2025年3月1日, Excel serials),
  ``columns`` finds the table by its column names and aliases, ``xlsx_rows`` writes bulk rows fast.
"""
