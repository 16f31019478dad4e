"""`layerscope fleet`'s outputs over its tables (fleet/tables.py `FleetTables`): the summary
text (text.py), report.html (report.py, with the rankings of rollup.py) and the JSON
document (document.py). They import the fleet package for annotations only: the tables
are plain DataFrames and a `FleetTotals`."""
