from __future__ import annotations

from django.db import models

from penguinflow.common.models import WorkspaceScopedModel


class EmailTemplate(WorkspaceScopedModel):
    """Subject, HTML and text parts in Liquid; the text part is derived from the HTML when left empty."""

    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=998)
    html = models.TextField()
    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name
