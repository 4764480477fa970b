"""Process and dictionary documents: store, publish, compare versions, edit dictionaries item by item."""
