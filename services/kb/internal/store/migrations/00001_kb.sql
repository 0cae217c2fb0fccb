-- +goose Up
-- The knowledge base: articles with their versions and search vectors, the document frequency of every
-- indexed term, articles' uses on tickets, a projection of tickets' subcategories (from kefu.ticket.*
-- events) and canned responses.

-- One row per article, its current content. head and document are the search vectors, made in Go
-- (search.Head, search.Document: Chinese bigrams and English words, weighted A title, B tags, C body,
-- D title characters) because Postgres has no Chinese parser. head stays in the row (small, compressed
-- there if need be) so title matches are ranked without reading anything else; document and body live
-- out of line (toast_tuple_target keeps the row small), so scanning candidates reads few pages, and
-- document is stored uncompressed because ranking reads it for every candidate.
CREATE TABLE articles (
    id                uuid        NOT NULL,
    title             text        NOT NULL,
    body              text        NOT NULL,
    tags              text[]      NOT NULL,
    -- Full subcategory codes ("request.refund").
    subcategories     text[]      NOT NULL,
    language          text        NOT NULL,
    status            text        NOT NULL,
    author            text        NOT NULL,
    -- Content version (article_versions); revision counts every change and is the etag.
    version           integer     NOT NULL,
    revision          bigint      NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    update_actor      text        NOT NULL,
    published_at      timestamptz,
    archived_at       timestamptz,
    -- All-time counts of article_uses, kept in the transaction that changes them: they order a
    -- subcategory's articles when a ticket's words match none.
    inserted_count    integer     NOT NULL DEFAULT 0,
    helped_count      integer     NOT NULL DEFAULT 0,
    not_helped_count  integer     NOT NULL DEFAULT 0,
    head              tsvector    NOT NULL,
    document          tsvector    NOT NULL,
    CONSTRAINT articles_pkey PRIMARY KEY (id),
    CONSTRAINT articles_status_check CHECK (status IN ('draft', 'published', 'archived')),
    CONSTRAINT articles_language_check CHECK (language IN ('zh-CN', 'en'))
) WITH (toast_tuple_target = 256);
ALTER TABLE articles ALTER COLUMN head SET STORAGE MAIN, ALTER COLUMN document SET STORAGE EXTERNAL;
CREATE INDEX articles_head_idx ON articles USING gin (head);
CREATE INDEX articles_document_idx ON articles USING gin (document);
CREATE INDEX articles_subcategories_idx ON articles USING gin (subcategories);
CREATE INDEX articles_tags_idx ON articles USING gin (tags);
CREATE INDEX articles_status_idx ON articles (status, id);

-- Every content version of every article, version 1 written with the article.
CREATE TABLE article_versions (
    article_id     uuid        NOT NULL,
    version        integer     NOT NULL,
    title          text        NOT NULL,
    body           text        NOT NULL,
    tags           text[]      NOT NULL,
    subcategories  text[]      NOT NULL,
    language       text        NOT NULL,
    editor         text        NOT NULL,
    created_at     timestamptz NOT NULL,
    CONSTRAINT article_versions_pkey PRIMARY KEY (article_id, version),
    CONSTRAINT article_versions_article_fkey FOREIGN KEY (article_id) REFERENCES articles (id)
);

-- How many articles' documents hold each term (all statuses), kept in the transaction that writes an
-- article: the search planner picks the rare terms of a query to choose candidates, and leaves terms that
-- are in most articles out of the rank. A term whose count fell to 0 stays (harmless: 0 means absent).
CREATE TABLE search_terms (
    term      text    NOT NULL,
    articles  integer NOT NULL,
    CONSTRAINT search_terms_pkey PRIMARY KEY (term)
);

-- An article's use on a ticket: inserted into a reply (once), then perhaps marked helped or not (the last
-- mark wins).
CREATE TABLE article_uses (
    article_id   uuid        NOT NULL,
    ticket_id    uuid        NOT NULL,
    inserted_at  timestamptz NOT NULL,
    inserted_by  text        NOT NULL,
    -- helped, not_helped, or NULL before any mark.
    feedback     text,
    feedback_at  timestamptz,
    feedback_by  text,
    CONSTRAINT article_uses_pkey PRIMARY KEY (article_id, ticket_id),
    CONSTRAINT article_uses_article_fkey FOREIGN KEY (article_id) REFERENCES articles (id),
    CONSTRAINT article_uses_feedback_check CHECK (feedback IN ('helped', 'not_helped'))
);
CREATE INDEX article_uses_inserted_idx ON article_uses (inserted_at, article_id);
CREATE INDEX article_uses_feedback_idx ON article_uses (feedback_at, article_id) WHERE feedback IS NOT NULL;

-- Each ticket's current subcategory, from kefu.ticket.created and kefu.ticket.updated (the kb-tickets
-- consumer), for the report of subcategories without articles. seq is the aggregate sequence of the event
-- that set the subcategory, so an older event arriving late changes nothing; created_at is NULL until the
-- created event arrives (an update can come first).
CREATE TABLE tickets (
    ticket_id    uuid        NOT NULL,
    -- Full code ("request.refund"); '' when unclassified.
    subcategory  text        NOT NULL,
    seq          bigint      NOT NULL,
    created_at   timestamptz,
    CONSTRAINT tickets_pkey PRIMARY KEY (ticket_id)
);
CREATE INDEX tickets_created_idx ON tickets (created_at, subcategory);

-- Short reply templates per routing group.
CREATE TABLE canned_responses (
    id            uuid        NOT NULL,
    group_id      uuid        NOT NULL,
    title         text        NOT NULL,
    body          text        NOT NULL,
    create_actor  text        NOT NULL,
    created_at    timestamptz NOT NULL,
    update_actor  text        NOT NULL,
    updated_at    timestamptz NOT NULL,
    revision      bigint      NOT NULL,
    CONSTRAINT canned_responses_pkey PRIMARY KEY (id)
);
CREATE INDEX canned_responses_group_idx ON canned_responses (group_id, title, id);
