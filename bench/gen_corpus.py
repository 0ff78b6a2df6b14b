"""Seeded generator of a large digest corpus in the native format, for benchmarks.

    python bench/gen_corpus.py OUT --issues 1000 [--seed 42]

writes `OUT/site.yaml` and `OUT/issues/<YYYY-MM-DD>.md`: one issue a week going back
from 2026-11-01, 30 links each spread over the sections and subtopics of the taxonomy,
about 300 bytes of mixed Korean/English commentary per link (paragraphs, bullet lists,
inline links, emphasis), 40 sources and 60 tags (some Korean). The same seed always
gives byte-identical files. `hugo_site.py` renders the same corpus as a Hugo site.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import TypeVar

LINKS_PER_ISSUE = 30
FIRST_ISSUE = dt.date(2026, 11, 1)
"""The newest issue; each older one is a week earlier."""
COMMENTARY_BYTES = (190, 350)
"""Target UTF-8 size range of one link's commentary (about 300 bytes on average)."""


@dataclass(frozen=True, slots=True)
class Term:
    """A section or subtopic of the taxonomy, with the headings editors write for it."""

    name: str
    """Display name (what site.yaml calls `name`)."""
    slug: str
    """URL slug."""
    aliases: tuple[str, ...]
    """Other headings meaning the same."""
    weight: int
    """Relative share of links."""


SECTIONS = (
    Term("Research", "research", ("연구",), 3),
    Term("Business Cases", "business-cases", ("Business Cases and Implementations", "사례"), 2),
)
SUBTOPICS = (
    Term("CV", "cv", ("Computer Vision", "Vision"), 5),
    Term("NLP", "nlp", ("Natural Language Processing", "LLM"), 8),
    Term("RecSys", "recsys", ("RecSys, etc.", "Recommender Systems"), 3),
    Term("MLOps", "mlops", ("Training, Inference and MLOps", "MLOps, etc."), 4),
)

SOURCES: tuple[tuple[str, str], ...] = (
    ("Google", "blog.research.google"),
    ("DeepMind", "deepmind.google"),
    ("Meta", "ai.meta.com"),
    ("Microsoft", "www.microsoft.com"),
    ("OpenAI", "openai.com"),
    ("Anthropic", "www.anthropic.com"),
    ("HuggingFace", "huggingface.co"),
    ("Amazon Science", "www.amazon.science"),
    ("AWS", "aws.amazon.com"),
    ("Apple", "machinelearning.apple.com"),
    ("NVIDIA", "developer.nvidia.com"),
    ("Netflix", "netflixtechblog.com"),
    ("Airbnb", "medium.com"),
    ("Uber", "www.uber.com"),
    ("Pinterest", "medium.com"),
    ("Spotify", "engineering.atspotify.com"),
    ("LinkedIn", "www.linkedin.com"),
    ("DoorDash", "doordash.engineering"),
    ("Instacart", "tech.instacart.com"),
    ("Lyft", "eng.lyft.com"),
    ("Stripe", "stripe.com"),
    ("Eugene Yan", "eugeneyan.com"),
    ("Chip Huyen", "huyenchip.com"),
    ("Lilian Weng", "lilianweng.github.io"),
    ("Sebastian Raschka", "magazine.sebastianraschka.com"),
    ("Stanford HAI", "hai.stanford.edu"),
    ("BAIR", "bair.berkeley.edu"),
    ("Cohere", "cohere.com"),
    ("네이버", "d2.naver.com"),
    ("카카오", "tech.kakao.com"),
    ("카카오엔터프라이즈", "tech.kakaoenterprise.com"),
    ("스캐터랩", "tech.scatterlab.co.kr"),
    ("하이퍼커넥트", "hyperconnect.github.io"),
    ("당근마켓", "medium.com"),
    ("토스", "toss.tech"),
    ("우아한형제들", "techblog.woowahan.com"),
    ("쿠팡", "medium.com"),
    ("라인", "engineering.linecorp.com"),
    ("업스테이지", "www.upstage.ai"),
    ("LG AI연구원", "www.lgresearch.ai"),
)
"""40 organisations and the host their articles live on."""

TAGS: tuple[str, ...] = (
    "llm", "rlhf", "transformer", "diffusion", "gan", "vit", "clip", "multimodal",
    "rag", "embedding", "retrieval", "fine-tuning", "lora", "quantization", "distillation",
    "pruning", "inference", "serving", "gpu", "tpu", "distributed-training", "mlops",
    "feature-store", "monitoring", "a-b-testing", "ranking", "ctr", "two-tower", "graph",
    "gnn", "reinforcement-learning", "self-supervised", "contrastive", "speech", "asr",
    "tts", "ocr", "segmentation", "detection", "video", "3d", "agents", "evaluation",
    "benchmark", "safety",
    "추천시스템", "검색", "언어모델", "임베딩", "강화학습", "데이터엔지니어링", "서빙",
    "최적화", "멀티모달", "이미지생성", "음성인식", "번역", "챗봇", "개인화", "광고",
)  # fmt: skip
"""60 tags, 15 of them Korean."""

_ADJ = (
    "Scalable", "Efficient", "Robust", "Sparse", "Adaptive", "Self-Supervised", "Multimodal",
    "Lightweight", "Contrastive", "Hierarchical", "Federated", "Real-Time", "Unified",
    "Incremental", "Generative", "Causal", "Streaming", "Personalized", "Large-Scale",
)  # fmt: skip
_NOUN = (
    "Transformers", "Diffusion Models", "Embeddings", "Language Models", "Retrievers",
    "Rankers", "Vision Encoders", "Feature Stores", "Agents", "Tokenizers", "Recommenders",
    "Speech Models", "Mixture-of-Experts", "Reward Models", "Graph Networks", "Pipelines",
)  # fmt: skip
_TASK = (
    "Search", "Ranking", "Image Generation", "Question Answering", "Code Completion",
    "Fraud Detection", "Ads Ranking", "Machine Translation", "Summarization",
    "Video Understanding", "Speech Recognition", "Content Moderation", "Forecasting",
    "Document Parsing", "Customer Support", "Home Feed Personalization",
)  # fmt: skip
_NAMES = (
    "CALM", "Data2vec", "GODEL", "BEiT", "AdaTest", "ToxiGen", "Swin", "PaLM", "Gemini",
    "Llama", "Mistral", "SAM", "DINO", "Whisper", "Chinchilla", "Gato", "Flamingo", "Muse",
    "Imagen", "Parti", "RETRO", "T5", "BERT", "HNSW", "FAISS", "DeepSpeed", "vLLM", "Ray",
)  # fmt: skip
_KO_TOPIC = (
    "상품 추천", "검색 품질", "챗봇 응답", "이미지 검색", "광고 랭킹", "음성 인식", "번역 품질",
    "피드 개인화", "리뷰 요약", "이상 거래 탐지", "모델 서빙", "학습 파이프라인", "데이터 라벨링",
)  # fmt: skip
_KO_TITLE = (
    "{topic} 개선기", "{topic}을 위한 {name} 도입기", "{topic} 시스템 구축하기",
    "{name}로 {topic} 비용 절반으로 줄이기", "{topic}, 어디까지 왔나",
)  # fmt: skip
_EN_TITLE = (
    "{adj} {noun} for {task}", "Scaling {noun} to Billions of Users",
    "{name}: {adj} {noun} for {task}", "How We Built {adj} {task} with {name}",
    "Lessons from Deploying {noun} in Production", "A Deep Dive into {name}",
    "{name} 2: {adj} {noun} at Scale",
)  # fmt: skip
_KO_SENTENCE = (
    "{term} 기반 모델로 {topic} 정확도를 크게 개선",
    "{topic}에 {term}을 적용해 지연 시간과 비용을 함께 줄임",
    "학습 데이터의 품질이 모델 성능보다 더 중요하다는 점을 실험으로 보여줌",
    "오프라인 지표와 온라인 A/B 테스트 결과가 다를 때 원인을 분석",
    "{term} 구조를 단순화하고 추론 속도를 {n}배 높임",
    "사람의 선호도 점수로 학습한 보상 모델을 이용해 언어 모델을 튜닝(= {term})",
    "대규모 {term} 학습에서 겪은 장애와 해결 과정을 정리",
    "{topic} 문제를 {term}과 규칙 기반 방법의 조합으로 해결",
    "모델 압축과 양자화로 메모리 사용량을 {n}분의 1로 줄임",
    "사용자 행동 로그로 {term} 임베딩을 만들고 유사 항목을 검색",
    "평가 데이터셋을 새로 만들고 기존 벤치마크의 한계를 지적",
    "배치 추론을 실시간 추론으로 바꾸면서 생긴 운영 이슈를 공유",
)  # fmt: skip
_EN_SENTENCE = (
    "Worth reading for the ablations on {term}",
    "The appendix compares {term} against strong baselines",
    "Open-sourced with weights and a reproducible training recipe",
    "Shows that {term} scales better than expected with data size",
    "A good primer on {term} for practitioners",
)  # fmt: skip
_INTRO = (
    "이번 호는 {term} 관련 글이 특히 많았습니다. 연말이라 회고 글도 함께 모았습니다.",
    "읽을거리를 고르는 기준을 조금 바꿨습니다: 재현 가능한 실험이 있는 글을 우선합니다.",
    "{topic} 사례가 여러 회사에서 동시에 나와 비교해 읽기 좋습니다.",
)  # fmt: skip
_NOTE = (
    "이번 달은 {term} 소식이 많았습니다.",
    "{topic} 관련 글을 모았습니다.",
)  # fmt: skip


_POOLS: dict[str, tuple[str, ...]] = {
    "adj": _ADJ,
    "noun": _NOUN,
    "task": _TASK,
    "name": _NAMES,
    "topic": _KO_TOPIC,
}
_FIELDS: dict[str, tuple[str, ...]] = {}
"""Pattern -> the fields it uses, parsed once."""
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Link:
    """One generated link with its place in the issue."""

    url: str
    """Article URL, unique in the corpus."""
    title: str
    """Title; may hold inline Markdown emphasis."""
    published: str
    """`YYYY-MM`, the issue's month."""
    source: str
    """Organisation."""
    tags: tuple[str, ...]
    """Tags, distinct."""
    commentary: str
    """Markdown commentary (may be empty); no line is `---` or a heading."""


@dataclass(frozen=True, slots=True)
class Group:
    """The links under one section > subtopic heading pair."""

    section: Term
    """Section term."""
    subtopic: Term
    """Subtopic term."""
    section_heading: str
    """The section heading as written (name or alias, maybe numbered)."""
    subtopic_heading: str
    """The subtopic heading as written."""
    note: str
    """Text between the subtopic heading and its first link; usually empty."""
    links: tuple[Link, ...]
    """Links in order."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One generated issue."""

    slug: str
    """File stem, `YYYY-MM-DD`."""
    date: dt.date
    """Issue date."""
    title: str
    """Issue title."""
    summary: str
    """One-line summary."""
    intro: str
    """Introduction Markdown; usually empty."""
    groups: tuple[Group, ...]
    """Groups in taxonomy order (sections outer, subtopics inner)."""


@dataclass(frozen=True, slots=True)
class Corpus:
    """A generated digest: site settings plus issues, newest first."""

    title: str
    """Site title."""
    base_url: str
    """Site base URL."""
    author: str
    """Editor."""
    description: str
    """Site description."""
    issues: tuple[Issue, ...]
    """Issues, newest first."""


class _Writer:
    """Draws words from one seeded RNG; all text of the corpus comes from here."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = 0
        n_sources = len(SOURCES)
        source_weights = [1.0 / (i + 1) ** 0.8 for i in range(n_sources)]
        tag_weights = [1.0 / (i + 1) ** 0.7 for i in range(len(TAGS))]
        self.rng.shuffle(source_weights)
        self.rng.shuffle(tag_weights)
        self.source_cum = list(itertools.accumulate(source_weights))
        self.tag_cum = list(itertools.accumulate(tag_weights))
        self.terms = _NAMES + _NOUN + tuple(TAGS[:45])

    def pick(self, items: Sequence[T]) -> T:
        """A uniformly random item (cheaper than `Random.choice`, equally deterministic)."""
        return items[int(self.rng.random() * len(items))]

    def fill(self, pattern: str) -> str:
        """`pattern` with every {field} replaced by a random word of its kind."""
        fields = _FIELDS.get(pattern)
        if fields is None:
            fields = _FIELDS[pattern] = tuple(f for _, f, _, _ in Formatter().parse(pattern) if f)
        words = {f: self.word(f) for f in fields}
        return pattern.format_map(words) if words else pattern

    def word(self, kind: str) -> str:
        """A random word of a kind named in the patterns."""
        if kind == "n":
            return str(2 + int(self.rng.random() * 8))
        return self.pick(self.terms if kind == "term" else _POOLS[kind])

    def title(self) -> str:
        rng = self.rng
        if rng.random() < 0.2:
            return self.fill(self.pick(_KO_TITLE))
        title = self.fill(self.pick(_EN_TITLE))
        if rng.random() < 0.15:
            first, _, rest = title.partition(" ")
            title = f"*{first}* {rest}" if rest else f"*{first}*"
        return title

    def inline(self) -> str:
        """A term, sometimes emphasised or linked."""
        rng = self.rng
        term = self.pick(self.terms)
        roll = rng.random()
        if roll < 0.12:
            return f"**{term}**"
        if roll < 0.22:
            return f"*{term}*"
        if roll < 0.34:
            host = self.pick(SOURCES)[1]
            return f"[{term}](https://{host}/ref/{term.lower().replace(' ', '-')})"
        return term

    def sentence(self) -> str:
        rng = self.rng
        if rng.random() < 0.25:
            text = self.fill(self.pick(_EN_SENTENCE))
        else:
            text = self.fill(self.pick(_KO_SENTENCE))
        if rng.random() < 0.35:
            text = f"{text} → {self.inline()} 참고"
        return text

    def commentary(self) -> str:
        rng = self.rng
        if rng.random() < 0.04:
            return ""
        target = rng.randint(*COMMENTARY_BYTES)
        shape = rng.random()
        lines: list[str] = []
        size = 0
        if shape < 0.45:  # one paragraph, circled numbers now and then
            parts: list[str] = []
            circled = rng.random() < 0.3
            while size < target:
                part = self.sentence()
                if circled and len(parts) < 5:
                    part = "①②③④⑤"[len(parts)] + " " + part
                parts.append(part)
                size += len(part.encode()) + 2
            lines.append(", ".join(parts))
        elif shape < 0.8:  # a lead line and a bullet list
            lead = self.sentence() + ":"
            lines.append(lead)
            size = len(lead.encode())
            while size < target:
                item = "- " + self.sentence()
                if rng.random() < 0.15:
                    item = "  " + item
                lines.append(item)
                size += len(item.encode()) + 1
        else:  # two paragraphs
            broken = False
            while size < target:
                part = self.sentence() + "."
                if lines and not broken and size > target // 2:
                    lines.append("")
                    broken = True
                lines.append(part)
                size += len(part.encode()) + 1
        return "\n".join(lines)

    def link(self, month: str, year: str) -> Link:
        rng = self.rng
        self.serial += 1
        source, host = rng.choices(SOURCES, cum_weights=self.source_cum)[0]
        count = 1 + int(rng.random() * 4)
        tags = tuple(dict.fromkeys(rng.choices(TAGS, cum_weights=self.tag_cum, k=count)))
        word = self.pick(_NAMES).lower()
        return Link(
            url=f"https://{host}/{year}/{month[-2:]}/{word}-{self.serial}",
            title=self.title(),
            published=month,
            source=source,
            tags=tags,
            commentary=self.commentary(),
        )

    def issue(self, date: dt.date) -> Issue:
        rng = self.rng
        month = f"{date.year:04d}-{date.month:02d}"
        pairs = [(s, t) for s in SECTIONS for t in SUBTOPICS]
        weights = [s.weight * t.weight for s, t in pairs]
        picks = sorted(rng.choices(range(len(pairs)), weights, k=LINKS_PER_ISSUE))
        groups: list[Group] = []
        for index in dict.fromkeys(picks):
            section, subtopic = pairs[index]
            count = picks.count(index)
            links = tuple(self.link(month, str(date.year)) for _ in range(count))
            groups.append(
                Group(
                    section=section,
                    subtopic=subtopic,
                    section_heading=self.heading(section, SECTIONS.index(section) + 1, None),
                    subtopic_heading=self.heading(
                        subtopic, SECTIONS.index(section) + 1, SUBTOPICS.index(subtopic) + 1
                    ),
                    note=self.fill(self.pick(_NOTE)) if rng.random() < 0.08 else "",
                    links=links,
                )
            )
        first = [g.links[0].title.replace("*", "") for g in groups[:3]]
        return Issue(
            slug=date.isoformat(),
            date=date,
            title=f"{date.year}년 {date.month}월 {date.day}일 ML 읽을거리",
            summary=", ".join(t.split(":")[0] for t in first) + " 외",
            intro=self.fill(self.pick(_INTRO)) if rng.random() < 0.2 else "",
            groups=tuple(groups),
        )

    def heading(self, term: Term, major: int, minor: int | None) -> str:
        """How an editor writes a heading: usually the name, sometimes an alias or numbered."""
        rng = self.rng
        text = term.name if rng.random() < 0.75 else self.pick(term.aliases)
        if rng.random() < 0.2:
            number = f"{major}." if minor is None else f"{major}.{minor}."
            text = f"{number} {text}"
        return text


def generate(issues: int, seed: int = 42) -> Corpus:
    """A corpus of `issues` weekly issues, newest 2026-11-01, fully determined by `seed`."""
    writer = _Writer(seed)
    dates = [FIRST_ISSUE - dt.timedelta(weeks=i) for i in range(issues)]
    return Corpus(
        title="ML 읽을거리 (bench)",
        base_url="https://example.org/digest/",
        author="Bench Editor",
        description="A generated corpus for benchmarking the digest build",
        issues=tuple(writer.issue(d) for d in dates),
    )


def _yaml_str(text: str) -> str:
    """`text` as a YAML scalar: plain when safe, else double-quoted (JSON is valid YAML)."""
    risky = (
        not text
        or text[0] in "*&!|>'\"%@`[]{}#,?:-~ "
        or ": " in text
        or " #" in text
        or text.endswith((":", " "))
        or text.lower() in ("yes", "no", "true", "false", "null", "on", "off", "~")
    )
    return json.dumps(text, ensure_ascii=False) if risky else text


def _yaml_list(items: tuple[str, ...]) -> str:
    safe = all(i and i.replace("-", "").replace(" ", "").isalnum() for i in items)
    if safe:
        return "[" + ", ".join(items) + "]"
    return "[" + ", ".join(json.dumps(i, ensure_ascii=False) for i in items) + "]"


def render_site_yaml(corpus: Corpus) -> str:
    """The corpus's `site.yaml`."""
    out = [
        f"title: {_yaml_str(corpus.title)}",
        f"base_url: {corpus.base_url}",
        "language: ko",
        f"author: {_yaml_str(corpus.author)}",
        f"description: {_yaml_str(corpus.description)}",
        "taxonomy:",
    ]
    for group, terms in (("sections", SECTIONS), ("subtopics", SUBTOPICS)):
        out.append(f"  {group}:")
        for term in terms:
            out.append(f"    - name: {_yaml_str(term.name)}")
            out.append(f"      slug: {term.slug}")
            out.append(f"      aliases: {_yaml_list(term.aliases)}")
    return "\n".join(out) + "\n"


def render_native_issue(issue: Issue) -> str:
    """One issue in the native format (issue front matter + per-link front matter)."""
    out = [
        "---",
        f"title: {_yaml_str(issue.title)}",
        f"date: {issue.date.isoformat()}",
        f"summary: {_yaml_str(issue.summary)}",
        "---",
    ]
    if issue.intro:
        out.append(issue.intro)
    section = None
    for group in issue.groups:
        if group.section is not section:
            section = group.section
            out += ["", f"## {group.section_heading}"]
        out += ["", f"### {group.subtopic_heading}", ""]
        if group.note:
            out += [group.note, ""]
        for link in group.links:
            out += [
                "---",
                f"url: {link.url}",
                f"title: {_yaml_str(link.title)}",
                f"published: {link.published}",
                f"source: {_yaml_str(link.source)}",
                f"tags: {_yaml_list(link.tags)}",
                "---",
            ]
            if link.commentary:
                out.append(link.commentary)
    return "\n".join(out) + "\n"


def write_native(corpus: Corpus, out: Path) -> int:
    """Write `out/site.yaml` and `out/issues/*.md`; return the number of bytes written."""
    issues_dir = out / "issues"
    issues_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    site = render_site_yaml(corpus).encode()
    (out / "site.yaml").write_bytes(site)
    total += len(site)
    for issue in corpus.issues:
        data = render_native_issue(issue).encode()
        (issues_dir / f"{issue.slug}.md").write_bytes(data)
        total += len(data)
    return total


def main(argv: list[str] | None = None) -> int:
    """CLI: `gen_corpus.py OUT --issues N [--seed S]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="content folder to create (site.yaml, issues/)")
    parser.add_argument("--issues", type=int, default=1000, help="number of issues (1000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    args = parser.parse_args(argv)
    if args.issues < 1:
        parser.error("--issues must be at least 1")
    start = time.perf_counter()
    corpus = generate(args.issues, args.seed)
    size = write_native(corpus, args.out)
    elapsed = time.perf_counter() - start
    links = sum(len(g.links) for i in corpus.issues for g in i.groups)
    print(
        f"{args.out}: {args.issues} issues, {links} links, {size / 1e6:.1f} MB in {elapsed:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
