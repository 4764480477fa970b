"""The knowledge base's part of the OpenAPI document (issue 23, ``api/articles.py``): paths and schemas.

Kept beside ``openapi_paths`` / ``openapi_schemas`` and merged into the document by ``api.openapi``.
"""

from __future__ import annotations

from .openapi_paths import json_body, op, path_param, query_param
from .openapi_schemas import INT, NULLABLE_STR, NULLABLE_TIME, STR, TIME, USERNAME, array, obj, or_null, ref

TAG = ("Knowledge base", "Articles (知识库): read by permission, search, write and publish (editors).")
VISIBILITY = {"type": "string", "enum": ["internal", "public"],
              "description": "internal: staff only; public: also customers and the public help pages."}
ARTICLE_STATUS = {"type": "string", "enum": ["draft", "review", "published", "archived"]}
TAGS = {"type": "array", "items": {"type": "string"}, "description": "At most 20 tags of 32 characters."}
VERSION = {"type": "integer", "description": "The version the change was made from: a stale one gets 409."}
SUMMARY = {
    "number": {"type": "string", "examples": ["KB000123"]}, "title": STR,
    "category": {**NULLABLE_STR, "description": "An item code of the dictionary `kb_category` (empty: none)."},
    "tags": TAGS, "visibility": VISIBILITY, "status": ARTICLE_STATUS, "version": INT,
    "updated_at": TIME, "published_at": NULLABLE_TIME,
}
FIELDS = {"title": or_null(STR), "body": or_null(STR), "category": NULLABLE_STR, "tags": or_null(TAGS),
          "visibility": or_null(VISIBILITY)}

KB_SCHEMAS = {
    "ArticleSummary": obj(SUMMARY),
    "Article": obj({**SUMMARY, "body": {"type": "string", "description": "Markdown."}, "author": USERNAME,
                    "published_by": USERNAME, "created_at": TIME,
                    "link": {"type": "string", "description": "The Markdown link for a note or a reply."},
                    "helpful_yes": INT, "helpful_no": INT}),
    "ArticleVersion": obj({"version": INT, "title": STR, "body": STR, "category": NULLABLE_STR, "tags": TAGS,
                           "visibility": VISIBILITY, "status": ARTICLE_STATUS, "editor": USERNAME,
                           "created_at": TIME}),
    "ArticleCreate": obj({**FIELDS, "title": STR, "body": STR}, required=["title", "body"]),
    "ArticleEdit": obj({**FIELDS, "version": VERSION}, required=["version"]),
    "ArticleMove": obj({"version": or_null(VERSION)}, required=[]),
}

NUMBER = path_param("kb_number", description="Article number, e.g. `KB000123`.")


def _move(verb: str, summary: str, op_id: str) -> dict:
    return {"post": op("Knowledge base", summary, {200: ref("Article")}, (400, 401, 403, 404, 409),
                       params=(NUMBER,), body=json_body(ref("ArticleMove"), required=False), op_id=op_id,
                       description=f"`{verb}`: editors and reviewers (admins, supervisors); one transaction, "
                                   "audited. From a status it does not apply to: 409.")}


KB_PATHS = {
    "/articles": {
        "get": op("Knowledge base", "List or search the articles the caller may read",
                  {200: array(ref("ArticleSummary"))}, (400, 401), op_id="listArticles",
                  params=(query_param("q", "Search text (Chinese two-character words work); ranked best first."),
                          query_param("category", "A `kb_category` item code."),
                          query_param("status", "Editors only: one status (without `q`)."),
                          query_param("limit", "At most this many (1-200, default 50).", {"type": "integer"})),
                  description="Agents and handlers read published articles, internal and public; editors every "
                              "status. A search finds published articles only."),
        "post": op("Knowledge base", "Create a draft article (editors)", {201: ref("Article")},
                   (400, 401, 403, 422), body=json_body(ref("ArticleCreate")), op_id="createArticle"),
    },
    "/articles/{kb_number}": {
        "get": op("Knowledge base", "One article", {200: ref("Article")}, (401, 404), params=(NUMBER,),
                  op_id="getArticle", description="An article the caller may not read answers 404."),
        "patch": op("Knowledge base", "Edit an article (editors): the next version", {200: ref("Article")},
                    (400, 401, 403, 404, 409, 422), params=(NUMBER,), body=json_body(ref("ArticleEdit")),
                    op_id="editArticle", description="Only the keys given change; `version` must be the current "
                                                     "one (else 409). Keeps the status."),
    },
    "/articles/{kb_number}/versions": {"get": op(
        "Knowledge base", "The saved versions of an article, newest first (editors)",
        {200: array(ref("ArticleVersion"))}, (401, 403, 404), params=(NUMBER,), op_id="listArticleVersions")},
    "/articles/{kb_number}/submit": _move("submit", "Send a draft to review", "submitArticle"),
    "/articles/{kb_number}/publish": _move("publish", "Publish a reviewed (or archived) article", "publishArticle"),
    "/articles/{kb_number}/archive": _move("archive", "Archive an article", "archiveArticle"),
}
