"""Answers fitted to what the client said it supports at `initialize`.

Feature functions answer the richest form (Markdown, snippets); a client
that does not take Markdown for hovers, completion documentation or signature
help gets the same text as plain text, and one without snippet support gets
each snippet's text with its tab stops filled by their placeholders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import attrs
from lsprotocol import types

_PLACEHOLDER = re.compile(r"\$\{\d+:((?:\\.|[^}\\])*)\}")
_TAB_STOP = re.compile(r"\$\{\d+\}|\$\d+")
_ESCAPE = re.compile(r"\\([$}\\])")


def snippet_text(snippet: str) -> str:
    """`T.copy(${1:src}, ${2:dst})$0` -> `T.copy(src, dst)`."""
    text = _PLACEHOLDER.sub(lambda m: m.group(1), snippet)
    text = _TAB_STOP.sub("", text)
    return _ESCAPE.sub(r"\1", text)


def _markdown_ok(formats: Any) -> bool:
    return bool(formats) and types.MarkupKind.Markdown in formats


@dataclass(frozen=True)
class ClientSupport:
    snippets: bool = True
    hover_markdown: bool = True
    completion_markdown: bool = True
    signature_markdown: bool = True

    @classmethod
    def of(cls, caps: types.ClientCapabilities) -> ClientSupport:
        text = caps.text_document
        hover = text.hover if text else None
        completion = text.completion.completion_item if text and text.completion else None
        signature = text.signature_help.signature_information if text and text.signature_help else None
        return cls(
            snippets=bool(completion and completion.snippet_support),
            hover_markdown=_markdown_ok(hover.content_format if hover else None),
            completion_markdown=_markdown_ok(completion.documentation_format if completion else None),
            signature_markdown=_markdown_ok(signature.documentation_format if signature else None),
        )

    def hover(self, value: types.Hover | None) -> types.Hover | None:
        if value is None or self.hover_markdown:
            return value
        return attrs.evolve(value, contents=_plain(value.contents))

    def completion_item(self, item: types.CompletionItem) -> types.CompletionItem:
        changes: dict[str, Any] = {}
        if not self.snippets and item.insert_text_format == types.InsertTextFormat.Snippet:
            changes["insert_text_format"] = types.InsertTextFormat.PlainText
            if item.insert_text is not None:
                changes["insert_text"] = snippet_text(item.insert_text)
            if isinstance(item.text_edit, (types.TextEdit, types.InsertReplaceEdit)):
                changes["text_edit"] = attrs.evolve(item.text_edit, new_text=snippet_text(item.text_edit.new_text))
        if not self.completion_markdown and isinstance(item.documentation, types.MarkupContent):
            changes["documentation"] = _plain(item.documentation)
        return attrs.evolve(item, **changes) if changes else item

    def completion(self, value: types.CompletionList | None) -> types.CompletionList | None:
        if value is None or (self.snippets and self.completion_markdown):
            return value
        return attrs.evolve(value, items=[self.completion_item(i) for i in value.items])

    def signature_help(self, value: types.SignatureHelp | None) -> types.SignatureHelp | None:
        if value is None or self.signature_markdown:
            return value
        signatures = []
        for sig in value.signatures:
            params = [attrs.evolve(p, documentation=_plain(p.documentation))
                      if isinstance(p.documentation, types.MarkupContent) else p for p in sig.parameters or []]
            signatures.append(attrs.evolve(
                sig, parameters=params if sig.parameters is not None else None,
                documentation=_plain(sig.documentation) if isinstance(sig.documentation, types.MarkupContent)
                else sig.documentation))
        return attrs.evolve(value, signatures=signatures)


def _plain(content: Any) -> Any:
    if isinstance(content, types.MarkupContent) and content.kind == types.MarkupKind.Markdown:
        return types.MarkupContent(kind=types.MarkupKind.PlainText, value=content.value)
    return content
