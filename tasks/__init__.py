"""Tasks: work for a person of the workspace about a contact, made by the `create_task` step or through the API."""
