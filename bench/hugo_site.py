"""The benchmark corpus as an equivalent Hugo site, to compare build times side by side.

    python bench/hugo_site.py DIR --issues 1000 [--seed 42]
    hugo --quiet -s DIR -d OUT

One content page per issue (`/issues/<slug>/`) holding the same sections, subtopics and
links rendered as Markdown (title linked to the article, source, month and tags linked to
their pages, the commentary); page-level taxonomies `tags` and `sources` (the union over
the issue's links, since Hugo has no per-link taxonomies); minimal layouts for the home
page, single pages, lists, taxonomy and term pages (paginated, 50 a page), and RSS of 20
items for home and sections (full content, like digest's issue feeds) and terms (summary;
digest's tag feeds are link-level, much smaller than whole issues). Same seed as
`gen_corpus.py`, same corpus.

With `--links` (`write_hugo(..., links=True)`) the site is closer to what digest makes:
every link is also a content page of its own (not rendered by itself) carrying its
tags, source, topic and section, so term pages list links with their commentary, 50 a
page, as digest's group pages do, and term feeds are link-level. The issue pages stay.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from gen_corpus import Corpus, Issue, generate

_URLIZE = re.compile(r"[^\w\-]+", re.UNICODE)

CONFIG = """\
baseURL = {base_url}
languageCode = "ko"
defaultContentLanguage = "ko"
title = {title}
hasCJKLanguage = true
enableRobotsTXT = true
paginate = 50
rssLimit = 20
disableKinds = []

[params]
description = {description}
author = {author}

[taxonomies]
tag = "tags"
source = "sources"

[outputs]
home = ["HTML", "RSS"]
section = ["HTML", "RSS"]
taxonomy = ["HTML"]
term = ["HTML", "RSS"]
"""

BASEOF = """\
<!doctype html>
<html lang="{{ site.LanguageCode }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} · {{ end }}{{ site.Title }}</title>
<link rel="canonical" href="{{ .Permalink }}">
<meta property="og:title" content="{{ .Title }}">
<meta property="og:url" content="{{ .Permalink }}">
{{ range .AlternativeOutputFormats -}}
<link rel="{{ .Rel }}" type="{{ .MediaType.Type }}" href="{{ .Permalink }}"
 title="{{ site.Title }}">
{{ end -}}
<style>body{max-width:46rem;margin:auto;line-height:1.7;word-break:keep-all}</style>
</head>
<body>
<header><a href="{{ site.Home.RelPermalink }}">{{ site.Title }}</a>
<nav><a href="{{ "issues/" | relURL }}">Archive</a> <a href="{{ "tags/" | relURL }}">Tags</a>
<a href="{{ "sources/" | relURL }}">Sources</a></nav></header>
<main>{{ block "main" . }}{{ end }}</main>
</body>
</html>
"""

INDEX = """\
{{ define "main" }}
{{ $issues := where site.RegularPages "Section" "issues" }}
{{ with index $issues 0 }}<article><h1>{{ .Title }}</h1>{{ .Content }}</article>{{ end }}
<h2>Recent</h2>
<ul>{{ range first 12 $issues }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time>{{ .Date.Format "2006-01-02" }}</time></li>
{{ end }}</ul>
{{ end }}
"""

SINGLE = """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "2006년 1월 2일" }}</time>
{{ .Content }}
</article>
{{ end }}
"""

LIST = """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ $pager := .Paginate .Pages }}
<ul>{{ range $pager.Pages }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time>{{ .Date.Format "2006-01-02" }}</time>
<p>{{ .Summary }}</p></li>
{{ end }}</ul>
{{ with $pager.Next }}<a rel="next" href="{{ .URL }}">Next</a>{{ end }}
{{ with $pager.Prev }}<a rel="prev" href="{{ .URL }}">Prev</a>{{ end }}
{{ end }}
"""

TAXONOMY = """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.ByCount }}
<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>
{{ end }}</ul>
{{ end }}
"""

RSS = """\
{{- $pages := .Pages -}}
{{- if .IsHome }}{{ $pages = where site.RegularPages "Section" "issues" }}{{ end -}}
{{- $limit := site.Config.Services.RSS.Limit -}}
{{- if ge $limit 1 }}{{ $pages = $pages | first $limit }}{{ end -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\" standalone=\\"yes\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{{ if not .IsHome }}{{ .Title }} · {{ end }}{{ site.Title }}</title>
<link>{{ .Permalink }}</link>
<description>{{ site.Params.description }}</description>
<language>{{ site.LanguageCode }}</language>
{{- with .OutputFormats.Get "RSS" }}
<atom:link href="{{ .Permalink }}" rel="self" type="application/rss+xml"/>
{{- end }}
{{- range $pages }}
<item>
<title>{{ .Title }}</title>
<link>{{ .Permalink }}</link>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
<guid>{{ .Permalink }}</guid>
{{- if or $.IsHome (eq $.Kind "section") }}
<description>{{ .Content | html }}</description>
{{- else }}
<description>{{ .Summary | html }}</description>
{{- end }}
</item>
{{- end }}
</channel>
</rss>
"""

LINK_TERM = """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ $pager := .Paginate .Pages }}
{{ range $pager.Pages }}
{{ $issue := .Params.issue_path | relURL }}
<article>
<h2><a href="{{ .Params.link }}">{{ .Title | markdownify }}</a>
<a href="{{ $issue }}#{{ .Params.anchor }}">#</a></h2>
<p>{{ with .Params.source }}
<a href="{{ "sources/" | relURL }}{{ . | urlize }}/">{{ . }}</a>{{ end }}
<time>{{ .Params.month }}</time> · <a href="{{ $issue }}">{{ .Params.issue_title }}</a>
› {{ .Params.section_name }} › {{ .Params.topic_name }}</p>
<ul>{{ range .Params.tags }}
<li><a href="{{ "tags/" | relURL }}{{ . | urlize }}/">#{{ . }}</a></li>{{ end }}</ul>
<div>{{ .Content }}</div>
</article>
{{ end }}
{{ with $pager.Next }}<a rel="next" href="{{ .URL }}">Next</a>{{ end }}
{{ with $pager.Prev }}<a rel="prev" href="{{ .URL }}">Prev</a>{{ end }}
{{ end }}
"""

LINKS_CONFIG = """
[taxonomies]
tag = "tags"
source = "sources"
topic = "topics"
section = "sections"
"""

LAYOUTS = {
    "_default/baseof.html": BASEOF,
    "index.html": INDEX,
    "_default/single.html": SINGLE,
    "_default/list.html": LIST,
    "_default/term.html": LIST,
    "_default/taxonomy.html": TAXONOMY,
    "_default/rss.xml": RSS,
}


def urlize(text: str) -> str:
    """The path segment Hugo makes of a term: lowercase, runs of other characters as '-'."""
    return _URLIZE.sub("-", text.lower()).strip("-")


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def render_hugo_page(issue: Issue, base_path: str, terms: bool = True) -> str:
    """One issue as a Hugo content page: YAML front matter and Markdown body."""
    tags = sorted({t for g in issue.groups for link in g.links for t in link.tags})
    sources = sorted({link.source for g in issue.groups for link in g.links})
    out = [
        "---",
        f"title: {_q(issue.title)}",
        f"date: {issue.date.isoformat()}",
        f"summary: {_q(issue.summary)}",
    ]
    if terms:  # without --links, issues carry the union of their links' terms
        out += [
            f"tags: [{', '.join(_q(t) for t in tags)}]",
            f"sources: [{', '.join(_q(s) for s in sources)}]",
        ]
    out.append("---")
    if issue.intro:
        out += ["", issue.intro]
    section = None
    anchors: set[str] = set()
    for group in issue.groups:
        if group.section is not section:
            section = group.section
            out += ["", f"## {section.name}"]
        out += ["", f"### {group.subtopic.name}"]
        if group.note:
            out += ["", group.note]
        for link in group.links:
            base = urlize(link.title.replace("*", "")) or "link"
            anchor, n = base, 2
            while anchor in anchors:
                anchor, n = f"{base}-{n}", n + 1
            anchors.add(anchor)
            tag_links = ", ".join(f"[{t}]({base_path}tags/{urlize(t)}/)" for t in link.tags)
            source = f"[{link.source}]({base_path}sources/{urlize(link.source)}/)"
            out += [
                "",
                f"#### [{link.title}]({link.url}) {{#{anchor}}}",
                "",
                f"{source} · {link.published} · {tag_links}",
            ]
            if link.commentary:
                out += ["", link.commentary]
    return "\n".join(out) + "\n"


def render_link_pages(issue: Issue) -> list[tuple[str, str]]:
    """Each link of an issue as a Hugo content page (`--links`): (file name, text)."""
    pages = []
    anchors: set[str] = set()
    n = 0
    for group in issue.groups:
        for link in group.links:
            n += 1
            base = urlize(link.title.replace("*", "")) or "link"
            anchor, k = base, 2
            while anchor in anchors:
                anchor, k = f"{base}-{k}", k + 1
            anchors.add(anchor)
            text = "\n".join(
                [
                    "---",
                    f"title: {_q(link.title)}",
                    f"date: {issue.date.isoformat()}",
                    f"link: {_q(link.url)}",
                    f"month: {_q(link.published)}",
                    f"source: {_q(link.source)}",
                    f"sources: [{_q(link.source)}]",
                    f"tags: [{', '.join(_q(t) for t in link.tags)}]",
                    f"topics: [{_q(group.subtopic.name)}]",
                    f"sections: [{_q(group.section.name)}]",
                    f"topic_name: {_q(group.subtopic.name)}",
                    f"section_name: {_q(group.section.name)}",
                    f"issue_title: {_q(issue.title)}",
                    f"issue_path: {_q(f'issues/{issue.slug}/')}",
                    f"anchor: {_q(anchor)}",
                    "---",
                    "",
                    link.commentary,
                ]
            )
            pages.append((f"{issue.slug}-{n:03d}.md", text + "\n"))
    return pages


def write_hugo(corpus: Corpus, out: Path, links: bool = False) -> int:
    """Write a Hugo site (config, layouts, content) for `corpus`; return the bytes written."""
    base_path = "/" + corpus.base_url.split("://", 1)[1].partition("/")[2]
    total = 0

    def put(rel: str, text: str) -> None:
        nonlocal total
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        path.write_bytes(data)
        total += len(data)

    config = CONFIG.format(
        base_url=_q(corpus.base_url),
        title=_q(corpus.title),
        description=_q(corpus.description),
        author=_q(corpus.author),
    )
    if links:
        head, _, rest = config.partition("[taxonomies]")
        config = head + LINKS_CONFIG.lstrip() + rest.split("\n\n", 1)[1]
    put("config.toml", config)
    for rel, text in LAYOUTS.items():
        put(f"layouts/{rel}", text)
    if links:
        put("layouts/_default/term.html", LINK_TERM)
        # Link pages are never pages of their own: they exist to be listed by term.
        put(
            "content/links/_index.md",
            "---\ntitle: Links\n_build: {render: never, list: never}\n"
            "cascade:\n  _build: {render: never, list: always}\n---\n",
        )
    put("content/issues/_index.md", '---\ntitle: "Archive"\n---\n')
    for issue in corpus.issues:
        put(f"content/issues/{issue.slug}.md", render_hugo_page(issue, base_path, not links))
        if links:
            for name, text in render_link_pages(issue):
                put(f"content/links/{name}", text)
    return total


def main(argv: list[str] | None = None) -> int:
    """CLI: `hugo_site.py DIR --issues N [--seed S]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="Hugo site folder to create")
    parser.add_argument("--issues", type=int, default=1000, help="number of issues (1000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    parser.add_argument("--links", action="store_true", help="link pages and link-level terms")
    args = parser.parse_args(argv)
    if args.issues < 1:
        parser.error("--issues must be at least 1")
    start = time.perf_counter()
    size = write_hugo(generate(args.issues, args.seed), args.out, links=args.links)
    elapsed = time.perf_counter() - start
    print(f"{args.out}: Hugo site, {size / 1e6:.1f} MB in {elapsed:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
