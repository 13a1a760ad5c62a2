"""The CLI's doors: every input enters through :mod:`.inputs`, every output leaves through
:mod:`.outputs`, every text a user sees passes :mod:`.text`, every optional part is asked
for through :mod:`.extras`."""
