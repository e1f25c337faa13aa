"""The public contracts of Newsflow: message models, the topic registry,
article ids, the search index template, and the JSON Schema export.

Everything here is data and pure functions; nothing opens a connection."""
