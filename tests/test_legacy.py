"""The legacy reader: the seed exactly, one fixture per quirk, errors, and `digest import`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from digest.config import SiteConfig
from digest.convert import heading_text, issue_to_native, yaml_field
from digest.errors import ContentErrors
from digest.legacy import date_from_filename, split_title
from digest.markup import render_block
from digest.model import Issue, Link, ParsedIssue, Section, Subtopic
from digest.parse import read_issue

from .conftest import ROOT, comparable, run_digest

SEED = Path(__file__).parents[2] / "shared/seed/digest-2022-12.md"
LEGACY = Path(__file__).parent / "fixtures" / "legacy"
ERRORS = Path(__file__).parent / "fixtures" / "errors"
FIXTURES = sorted(LEGACY.glob("*.md"))
ERROR_CASES = sorted(ERRORS.glob("legacy-*.md"))


def read(path: Path, config: SiteConfig | None = None) -> ParsedIssue:
    """Read a file as `digest` would, under its bare name so diagnostics are stable."""
    return read_issue(path.name, path.read_bytes(), config or SiteConfig())


def fixture(name: str) -> Issue:
    """A legacy fixture's issue; fixtures other than the warning ones read cleanly."""
    parsed = read(LEGACY / name)
    assert parsed.warnings == ()
    return parsed.issue


def links(issue: Issue) -> list[Link]:
    """Every link of the issue, in page order."""
    return [link for _, _, link in issue.all_links()]


def fields(link: Link) -> tuple[str, str, str, str | None, str | None, str]:
    """What an editor wrote for a link: title_md, title, url, month, source, commentary."""
    return (link.title_md, link.title, link.url, link.published, link.source, link.commentary)


def outline(issue: Issue) -> list[tuple[str, str, str, list[tuple[str, str, str]]]]:
    """Sections and subtopics as (name, heading, slug)."""
    return [
        (s.name, s.heading, s.slug, [(t.name, t.heading, t.slug) for t in s.subtopics])
        for s in issue.sections
    ]


# --- the seed ---------------------------------------------------------------------------

MS_COMMENTARY = (
    "이미지 모델 [Swin Transformer v2](https://www.microsoft.com/en-us/research/blog/"
    "swin-transformer-supports-3-billion-parameter-vision-models-that-can-train-with-higher-"
    "resolution-images-for-greater-task-applicability), 챗봇을 위한 언어 모델 [GODEL]"
    "(https://www.microsoft.com/en-us/research/blog/godel-combining-goal-oriented-dialog-with-"
    "real-world-conversations/), 멀티모달 [BEiT](https://github.com/microsoft/unilm/tree/master/"
    "beit), 언어 모델 디버깅 도구 [AdaTest](https://www.microsoft.com/en-us/research/blog/"
    "partnering-people-with-large-language-models-to-find-and-fix-bugs-in-nlp-systems/), "
    "유해 콘텐츠 데이터 생성 도구 [ToxiGen](https://www.microsoft.com/en-us/research/blog/"
    "detoxigen-leveraging-large-language-models-to-build-more-robust-hate-speech-detection-"
    "tools/), NN HPO기법 [µTransfer](https://www.microsoft.com/en-us/research/blog/"
    "%c2%b5transfer-a-technique-for-hyperparameter-tuning-of-enormous-neural-networks/), "
    "모델 압축과 양자화를 위한 [DeepSpeed Compression](https://www.microsoft.com/en-us/research/"
    "blog/deepspeed-compression-a-composable-library-for-extreme-compression-and-zero-cost-"
    "quantization/) 등"
)

SEED_LINKS = [
    (
        "Autoencoders and Diffusers: A Brief Comparison",
        "Autoencoders and Diffusers: A Brief Comparison",
        "https://eugeneyan.com//writing/autoencoders-vs-diffusers/",
        "2022-12",
        None,
        "",
    ),
    (
        "*Data2vec 2.0*: Highly Efficient Self-Supervised Learning for Vision, Speech and Text",
        "Data2vec 2.0: Highly Efficient Self-Supervised Learning for Vision, Speech and Text",
        "https://ai.facebook.com/blog/ai-self-supervised-learning-data2vec/",
        "2022-12",
        "Meta",
        "",
    ),
    (
        "Accelerating Text Generation with Confident Adaptive Language Modeling (*CALM*)",
        "Accelerating Text Generation with Confident Adaptive Language Modeling (CALM)",
        "https://ai.googleblog.com/2022/12/accelerating-text-generation-with.html?m=1",
        "2022-12",
        "Google",
        "",
    ),
    (
        "Illustrating Reinforcement Learning from Human Feedback (RLHF)",
        "Illustrating Reinforcement Learning from Human Feedback (RLHF)",
        "https://huggingface.co/blog/rlhf",
        "2022-12",
        "HuggingFace",
        "① 정책 언어 모델과 ② 프롬프트 별 생성 텍스트에 대해 사람의 선호도 점수로 학습한 "
        "보상 모델 이용하여 언어 모델 튜닝(= PPO)",
    ),
    (
        "Mastering Stratego, the Classic Game of Imperfect Information",
        "Mastering Stratego, the Classic Game of Imperfect Information",
        "https://www.deepmind.com/blog/mastering-stratego-the-classic-game-of-imperfect-information",
        "2022-12",
        "DeepMind",
        "",
    ),
    (
        "Research @ MS 2022: A Look Back at a Year of Accelerating Progress in AI",
        "Research @ MS 2022: A Look Back at a Year of Accelerating Progress in AI",
        "https://www.microsoft.com/en-us/research/blog/"
        "2022-a-look-back-at-a-year-of-accelerating-progress-in-ai/",
        "2022-12",
        "Microsoft",
        MS_COMMENTARY,
    ),
    (
        "When a Picture is Worth More Than Words",
        "When a Picture is Worth More Than Words",
        "https://medium.com/airbnb-engineering/when-a-picture-is-worth-more-than-words-17718860dcc2",
        "2022-12",
        "Airbnb",
        "① 미적 점수 레이블링과 예측 ② 자가 학습으로 이미지 임베딩 생성 → HNSW로 유사 이미지 "
        "검색 지원",
    ),
    (
        "Luda Gen 1, 더 재미있고 자연스러운 대화로 돌아온 루다 1편 - 생성 기반 챗봇",
        "Luda Gen 1, 더 재미있고 자연스러운 대화로 돌아온 루다 1편 - 생성 기반 챗봇",
        "https://tech.scatterlab.co.kr/luda-gen-1/",
        "2022-12",
        "스캐터랩",
        "검색 대신 생성 모델(= GPT2) 기반 챗봇 도입 ← 관계 지향적, 안정성 위해 파인 튜닝",
    ),
    (
        "CLOVA MD 상품추천 솔루션",
        "CLOVA MD 상품추천 솔루션",
        "https://engineering.clova.ai/posts/2022/12/clova-md-solution",
        "2022-12",
        "네이버",
        "적재(Hive 또는 Kafka) → 학습과 추론(Argo Workflows 또는 Kubeflow) → 결과 저장(MongoDB)의 "
        "일 단위 배치 작업",
    ),
    (
        "ML 모델 서빙 비용 1/4로 줄이기",
        "ML 모델 서빙 비용 1/4로 줄이기",
        "https://hyperconnect.github.io/2022/12/13/infra-cost-optimization-with-aws-inferentia.html",
        "2022-12",
        "하이퍼커넥트",
        "",
    ),
]


def test_seed_has_its_ten_links_exactly() -> None:
    parsed = read(SEED)
    assert parsed.warnings == ()
    assert [fields(link) for link in links(parsed.issue)] == SEED_LINKS


def test_seed_links_have_their_lines_and_no_tags() -> None:
    seed = read(SEED).issue
    assert [link.line for link in links(seed)] == [4, 5, 8, 9, 13, 14, 18, 21, 24, 26]
    assert all(link.tags == () for link in links(seed))


def test_seed_issue_fields_and_outline() -> None:
    seed = read(SEED).issue
    assert (seed.slug, seed.title, seed.date, seed.intro) == (
        "digest-2022-12",
        "2022년 12월",  # bare `#`: the title comes from the date pattern
        dt.date(2022, 12, 1),
        "",
    )
    assert outline(seed) == [
        (
            "Research",
            "Research",
            "research",
            [("CV", "CV", "cv"), ("NLP", "NLP", "nlp"), ("RecSys", "RecSys, etc.", "recsys")],
        ),
        (
            "Business Cases",
            "Business Cases",
            "business-cases",
            [
                ("CV", "CV", "cv"),
                ("NLP", "NLP", "nlp"),
                ("MLOps", "Training, Inference and MLOps", "mlops"),
            ],
        ),
    ]
    assert [len(t.links) for s in seed.sections for t in s.subtopics] == [2, 2, 2, 1, 1, 2]


def test_seed_link_ids_are_title_slugs() -> None:
    ids = [link.id for link in links(read(SEED).issue)]
    assert (
        ids[1]
        == "data2vec-2-0-highly-efficient-self-supervised-learning-for-vision-speech-and-text"
    )
    assert ids[7] == "luda-gen-1-더-재미있고-자연스러운-대화로-돌아온-루다-1편-생성-기반-챗봇"
    assert len(set(ids)) == 10


# --- one fixture per quirk --------------------------------------------------------------


def test_numbered_headings_renamed_and_third_section() -> None:
    issue = fixture("2023-01-numbered-headings.md")
    assert issue.title == "Summary of Important AI & ML Blog Posts"
    assert outline(issue) == [
        ("Research", "Research", "research", [("CV", "CV", "cv"), ("NLP", "NLP", "nlp")]),
        (
            "Business Cases",
            "Business Cases and Implementations",
            "business-cases",
            [("MLOps", "Training, Inference and MLOps", "mlops")],
        ),
        (
            "AWS ML",
            "AWS ML Only",
            "aws-ml",
            [("MLOps", "Training, Inference and MLOps", "mlops")],
        ),
    ]
    assert [fields(link) for link in links(issue)] == [
        ("Alpha Vision", "Alpha Vision", "https://example.org/alpha", "2023-01", "Meta", ""),
        ("Beta Language", "Beta Language", "https://example.org/beta", "2022-12", None, ""),
        (
            "Gamma Pipelines",
            "Gamma Pipelines",
            "https://example.org/gamma",
            "2023-01",
            "Netflix",
            "",
        ),
        (
            "Delta on **Amazon SageMaker**",
            "Delta on Amazon SageMaker",
            "https://aws.amazon.com/blogs/machine-learning/delta/",
            "2023-01",
            None,
            "",
        ),
    ]


def test_bare_title_comes_from_the_date_pattern() -> None:
    assert fixture("2023-01-bare-title.md").title == "2023년 1월"
    custom = SiteConfig(title_pattern="ML reading {year}-{month:02d}")
    assert read(LEGACY / "2023-01-bare-title.md", custom).issue.title == "ML reading 2023-01"


def test_preamble_note_bullets_are_intro_not_links() -> None:
    issue = fixture("2023-01-preamble-note.md")
    assert issue.title == "Summary of Important AI & ML Blog Posts"
    assert issue.intro == (
        "* NOTE: 본 내용은 다음의 기준으로 선별된 것입니다.\n"
        "  * 양질의 콘텐츠를 올리는 기업, 연구 기관, 개인의 블로그를 후보로 합니다.\n"
        "  * 주로 다루는 기술 범위는 CV, NLP, 추천 시스템, 모델 훈련과 추론, MLOps입니다.\n"
        "* [A bullet link in the preamble is intro too](https://example.org/preamble)"
    )
    assert [link.title for link in links(issue)] == ["Alpha Vision"]
    assert links(issue)[0].line == 9


def test_commentary_inline_after_the_link() -> None:
    issue = fixture("2023-01-commentary-inline.md")
    assert [(link.title, link.source, link.commentary) for link in links(issue)] == [
        (
            "When a Picture is Worth More Than Words",
            "Airbnb",
            "① 미적 점수 레이블링과 예측 ② 자가 학습으로 이미지 임베딩 생성",
        ),
        ("No Space After Colon", None, "붙여 쓴 설명"),
        ("Trailing Spaces Only", None, ""),
        ("Colon Only", None, ""),
        ("Text Without Colon", None, "참고 링크"),
    ]


def test_commentary_nested_bullets_at_two_three_and_four_spaces() -> None:
    issue = fixture("2023-01-commentary-nested.md")
    assert [(link.title, link.commentary) for link in links(issue)] == [
        (
            "Two Spaces",
            "- 첫째 항목\n"
            "- [Atlas](https://example.org/atlas) 링크로 시작하는 항목\n"
            "  - 더 깊은 항목",
        ),
        ("Three Spaces", "- 세 칸 들여쓰기\n  - 여섯 칸\n- 다시 세 칸"),
        (
            "Four Spaces",
            "- 네 칸 들여쓰기\n  - 여덟 칸\n    - 열두 칸\n  - 여덟 칸 대시\n- 플러스 마커",
        ),
        ("Wide Gap After Marker", "- 두 칸 띄운 항목\n- 탭 하나"),
    ]
    # A nested bullet that starts with a link stays commentary: four links, not five.
    assert len(links(issue)) == 4


def test_commentary_plain_lines_stay_as_written_but_paragraphs_move_left() -> None:
    issue = fixture("2023-01-commentary-plain.md")
    assert [link.commentary for link in links(issue)] == [
        "1/ 헬프 봇 콘텐츠 순위 지정\n2/ 상담원 대화에 답변 템플릿 실시간 제안",
        "(1) 첫 번째\n(2) 두 번째",
        "1-1/ 하위 항목\n1-2/ 또 다른 하위 항목\n\n들여 쓴 문단",
    ]
    assert links(issue)[0].title == (
        "How AI Text Generation Models are Reshaping Customer Support at Airbnb"
    )


def test_commentary_blocks_move_with_their_bullets() -> None:
    # Paragraphs and code blocks of a nested bullet's item stay in it once the bullet
    # moves to its level's indentation: left where they were, they read as code.
    issue = fixture("2023-01-commentary-blocks.md")
    assert [link.commentary for link in links(issue)] == [
        "- 첫째 항목\n"
        "  다음 줄로 이어짐\n"
        "\n"
        "  첫째 항목의 둘째 문단\n"
        "- 둘째 항목\n"
        "  - 더 깊은 항목\n"
        "\n"
        "    더 깊은 항목의 둘째 문단\n"
        "\n"
        "        들여 쓴 코드\n"
        "  - 코드 블록:\n"
        "\n"
        "    ```\n"
        "    code line\n"
        "      indented code line\n"
        "    ```",
        "링크 항목의 문단",
    ]


def test_commentary_renders_as_the_legacy_item_did() -> None:
    # What CommonMark makes of each link's item in the legacy file, after its link.
    text = (LEGACY / "2023-01-commentary-blocks.md").read_text()
    items = re.split(r"(?m)^\* (?=\[)", text.split("### NLP\n", 1)[1])[1:]
    issue = fixture("2023-01-commentary-blocks.md")
    for link, item in zip(links(issue), items, strict=True):
        assert render_block(link.commentary) == legacy_item_html(item)


def legacy_item_html(item: str) -> str:
    """The HTML of a legacy link bullet's item after its link, as CommonMark renders it."""
    html = render_block("* " + item)
    inner = html.removeprefix("<ul>\n<li>").removesuffix("</li>\n</ul>\n")
    return re.sub(r"^\n?(<p>)?<a href=[^>]*>[^<]*</a>(?(1)</p>)\n", "", inner)


def test_commentary_mixed_on_one_link() -> None:
    issue = fixture("2023-01-commentary-mixed.md")
    first, second = links(issue)
    assert fields(first) == (
        "Match Cutting at Netflix",
        "Match Cutting at Netflix",
        "https://netflixtechblog.com/match-cutting-at-netflix-finding-cuts-with-smooth-visual-"
        "transitions-31c3fc14ae59",
        "2022-11",
        "Netflix",
        "매치 커팅 = 프레임 매칭 + 액션 매칭\n"
        "- 1/ 후보 추출 = 샷 분할([PySceneDetect](http://scenedetect.com/en/latest/))\n"
        "- 2/ 모델 학습과 평가\n"
        "(1) 평문 줄\n"
        "- 두 칸 항목\n"
        "1-1/ 또 다른 평문\n"
        "![match](./images/match.png)",
    )
    assert (second.title, second.line, second.commentary) == ("Next Link", 11, "")


def test_images_belong_to_the_link_above() -> None:
    issue = fixture("2023-01-images.md")
    assert [(link.title_md, link.source, link.commentary) for link in links(issue)] == [
        (
            "*ChatGPT*: Optimizing LMs for Dialogue",
            "OpenAI",
            "- GPT 3.5, 사람 피드백 기반의 강화 학습(RLHF)으로 파인 튜닝\n"
            "![chatgpt](./images/chatgpt.png)",
        ),
        (
            "Serving Architecture",
            "스캐터랩",
            "- 시스템 설계\n    ![serv_arch](./images/scatterlab.png)",
        ),
        # A paragraph of the link's item (after a blank line): at the left edge.
        ("Image Only", None, "![alone](./images/alone.png)"),
    ]


def test_url_on_the_line_after_the_text() -> None:
    issue = fixture("2022-12-split-url.md")
    assert [(fields(link), link.line) for link in links(issue)] == [
        (
            (
                "CLOVA MD 상품추천 솔루션",
                "CLOVA MD 상품추천 솔루션",
                "https://engineering.clova.ai/posts/2022/12/clova-md-solution",
                "2022-12",
                "네이버",
                "적재 → 학습과 추론 → 결과 저장",
            ),
            4,
        ),
        (
            (
                "Split With Nothing After",
                "Split With Nothing After",
                "https://example.org/split",
                "2022-12",
                None,
                "- 다음 줄의 설명",
            ),
            6,
        ),
    ]


def test_emphasis_in_link_text() -> None:
    issue = fixture("2023-01-emphasis.md")
    assert [(link.title_md, link.title, link.id, link.source) for link in links(issue)] == [
        (
            "*Data2vec 2.0*: Highly Efficient Self-Supervised Learning",
            "Data2vec 2.0: Highly Efficient Self-Supervised Learning",
            "data2vec-2-0-highly-efficient-self-supervised-learning",
            "Meta",
        ),
        (
            "Automatically Retrain NNs with **Renate**",
            "Automatically Retrain NNs with Renate",
            "automatically-retrain-nns-with-renate",
            "Amazon",
        ),
        (
            "Accelerated *Stable Diffusion* with **PyTorch 2**",
            "Accelerated Stable Diffusion with PyTorch 2",
            "accelerated-stable-diffusion-with-pytorch-2",
            None,
        ),
    ]


def test_parentheses_before_the_date() -> None:
    issue = fixture("2023-01-parens-before-date.md")
    assert [(link.title_md, link.url, link.published, link.source) for link in links(issue)] == [
        (
            "Accelerating Text Generation with Confident Adaptive Language Modeling (*CALM*)",
            "https://ai.googleblog.com/2022/12/accelerating-text-generation-with.html?m=1",
            "2022-12",
            "Google",
        ),
        (
            "AI 명함 촬영 인식 '리오(RIO)' 적용기",
            "https://blog.dramancompany.com/2022/11/rio/",
            "2022-11",
            "드라마앤컴퍼니",
        ),
        ("Teams (With (Nested) Parens)", "https://example.org/nested", "2022-09", "Meta (FAIR)"),
        (
            "Parentheses In The URL",
            "https://en.wikipedia.org/wiki/Transformer_(machine_learning_model)",
            "2022-12",
            None,
        ),
        ("Source With A Comma", "https://example.org/comma", "2022-12", "Google, DeepMind"),
    ]


def test_stray_parenthesis_after_the_date() -> None:
    issue = fixture("2023-01-stray-paren.md")
    assert [fields(link) for link in links(issue)] == [
        (
            "Text-to-Image: Diffusion, Text Conditioning, Guidance, Latent Space",
            "Text-to-Image: Diffusion, Text Conditioning, Guidance, Latent Space",
            "https://eugeneyan.com//writing/text-to-image/",
            "2022-11",
            None,
            "",
        ),
        (
            "Stray After The Source",
            "Stray After The Source",
            "https://example.org/stray",
            "2022-11",
            "Google",
            "",
        ),
    ]


def test_link_without_a_date() -> None:
    issue = fixture("2023-01-no-date.md")
    assert [fields(link) for link in links(issue)] == [
        (
            "Some Remarks on LLMs",
            "Some Remarks on LLMs",
            "https://gist.github.com/yoavg/59d174608e92e845c8994ac2e234c8a9",
            None,
            None,
            "",
        ),
        (
            "Not A Month (Sometime 2022)",
            "Not A Month (Sometime 2022)",
            "https://example.org/sometime",
            None,
            None,
            "",
        ),
        ("Year Only (2022)", "Year Only (2022)", "https://example.org/year", None, None, ""),
    ]


def test_doubled_marker_is_a_link_with_a_warning() -> None:
    parsed = read(LEGACY / "2023-01-doubled-marker.md")
    assert [fields(link) for link in links(parsed.issue)] == [
        ("Typo Bullet", "Typo Bullet", "https://example.org/typo", "2023-01", "Meta", "설명")
    ]
    assert [w.format() for w in parsed.warnings] == [
        "2023-01-doubled-marker.md:4:1: warning: doubled list marker '**' read as a link bullet\n"
        "    4 | ** [Typo Bullet (Jan 2023, Meta)](https://example.org/typo): 설명\n"
        "      | ^\n"
        "hint: write a single marker: * [Title](https://...)"
    ]


def test_date_from_the_latest_published_month_when_the_name_has_none() -> None:
    issue = fixture("latest-published.md")
    assert (issue.slug, issue.title, issue.date) == (
        "latest-published",
        "Undated File Name",
        dt.date(2023, 2, 1),
    )


def test_date_from_a_day_in_the_file_name_and_links_under_a_section() -> None:
    issue = fixture("2023-01-15.md")
    assert issue.date == dt.date(2023, 1, 15)
    (section,) = issue.sections
    assert (section.name, section.subtopics, [link.title for link in section.links]) == (
        "Research",
        (),
        ["Directly Under The Section"],
    )


def test_thematic_breaks_code_blocks_and_heading_like_text() -> None:
    issue = fixture("2023-01-breaks-and-code.md")
    # `---` becomes `***` (a `---` line would open a link block in the native format); a
    # `##` after the link on its line is text; inside a code block it is code, not a heading.
    assert issue.intro == "Intro line\n***"
    assert links(issue)[0].commentary == (
        "\\## not a heading on the link line\n"
        "```python\n"
        "## a comment in code, not a heading\n"
        "```\n"
        "***\n"
        "after the break"
    )


def test_unknown_heading_is_a_warning_and_builds() -> None:
    text = "#\n## Opinion\n* [Take (Jan 2023)](https://example.org/take)\n"
    parsed = read_issue("2023-01.md", text.encode(), SiteConfig())
    assert [(s.name, s.slug) for s in parsed.issue.sections] == [("Opinion", "opinion")]
    assert [w.message for w in parsed.warnings] == ["unknown section 'Opinion'"]


def test_unclosed_code_block_is_closed_at_the_end() -> None:
    text = "#\n## Research\n* [Code (Jan 2023)](https://example.org/code)\n~~~~\nx = 1\n"
    issue = read_issue("2023-01.md", text.encode(), SiteConfig()).issue
    assert links(issue)[0].commentary == "~~~~\nx = 1\n~~~~"


def test_code_block_cut_by_a_link_is_closed_before_it() -> None:
    # The link bullet ends the note's code block; closing it in the note keeps the merged
    # note of `## Opinion` from hiding the `## Research` heading after it once imported.
    text = "#\n## Opinion\n```\n\n* [T](https://x.org)\n## Opinion\n```\n## Research\n"
    parsed = read_issue("2023-01.md", text.encode(), SiteConfig())
    assert parsed.issue.sections[0].note == "```\n```\n\n```\n## Research\n```"
    assert [s.name for s in parsed.issue.sections] == ["Opinion"]
    native = issue_to_native(parsed.issue)
    again = read_issue("2023-01.md", native.encode(), SiteConfig())
    assert comparable(again.issue) == comparable(parsed.issue)


# --- small rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Title (Dec 2022)", ("Title", "2022-12", None)),
        ("Title (December 2022, Org)", ("Title", "2022-12", "Org")),
        ("Title (SEPT 2021, Org)", ("Title", "2021-09", "Org")),
        ("Title (sep. 2021)", ("Title", "2021-09", None)),
        ("Title (may 2020 ,  Org Name )", ("Title", "2020-05", "Org Name")),
        ("Title (Dec 2022, )", ("Title", "2022-12", None)),
        ("Title (Dec 2022))", ("Title", "2022-12", None)),
        ("Title (Decembre 2022)", ("Title (Decembre 2022)", None, None)),
        ("Title (Dec 22)", ("Title (Dec 22)", None, None)),
        ("Title (Dec 0000)", ("Title (Dec 0000)", None, None)),
        ("Title (Dec 2022) more", ("Title (Dec 2022) more", None, None)),
        ("(CALM) (Dec 2022, Google)", ("(CALM)", "2022-12", "Google")),
        ("  Spaced  ", ("Spaced", None, None)),
    ],
)
def test_split_title(text: str, expected: tuple[str, str | None, str | None]) -> None:
    assert split_title(text) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("2022-12.md", dt.date(2022, 12, 1)),
        ("digest-2022-12.md", dt.date(2022, 12, 1)),
        ("2023-01-15.md", dt.date(2023, 1, 15)),
        ("from-2022-12-to-2023-01.md", dt.date(2023, 1, 1)),
        ("old/2021-05/2022-12.md", dt.date(2022, 12, 1)),
        ("2022-12-2023-02.md", dt.date(2023, 2, 1)),
        ("2022-13.md", None),
        ("12022-12.md", None),
        ("notes.md", None),
    ],
)
def test_date_from_filename(path: str, expected: dt.date | None) -> None:
    assert date_from_filename(path) == expected


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c.stem for c in ERROR_CASES])
def test_legacy_error_fixture(case: Path) -> None:
    assert not case.read_text(encoding="utf-8").startswith("---"), "must be a legacy file"
    expected = case.with_suffix(".err").read_text(encoding="utf-8")
    with pytest.raises(ContentErrors) as info:
        read(case)
    assert "\n".join(d.format() for d in info.value.diagnostics) + "\n" == expected


def test_error_fixtures_cover_the_legacy_errors() -> None:
    assert {c.stem for c in ERROR_CASES} >= {
        "legacy-no-url-2023-01",
        "legacy-bad-url-2023-01",
        "legacy-no-date",
    }


# --- digest import: legacy -> native gives the same model -------------------------------


@pytest.mark.parametrize("path", [SEED, *FIXTURES], ids=[SEED.name, *(f.name for f in FIXTURES)])
def test_import_round_trip(path: Path) -> None:
    legacy = read(path)
    native_text = issue_to_native(legacy.issue)
    assert native_text.startswith("---\n")
    native = read_issue(path.name, native_text.encode(), SiteConfig())
    assert comparable(native.issue) == comparable(legacy.issue)
    assert [w.message for w in native.warnings] == [
        w.message for w in legacy.warnings if "doubled list marker" not in w.message
    ]


def test_import_writes_keys_in_order_and_headings_as_written() -> None:
    text = issue_to_native(read(LEGACY / "2023-01-numbered-headings.md").issue)
    assert text.startswith(
        "---\ntitle: Summary of Important AI & ML Blog Posts\ndate: 2023-01-01\n---\n"
    )
    assert "## Business Cases and Implementations\n" in text
    assert (
        "---\nurl: https://example.org/alpha\ntitle: Alpha Vision\npublished: 2023-01\n"
        "source: Meta\n---\n"
    ) in text


def test_import_guards_lines_the_native_reader_would_misread() -> None:
    # Not from a legacy file (its reader never yields these lines): an issue built by hand.
    commentary = "---\n## heading\n```\n## in code\n```\n### after"
    link = Link("x", "X", "X", "https://example.org/x", None, None, ("a", "b c"), commentary, 1)
    subtopic = Subtopic("NLP", "NLP", "nlp", "", (link,))
    section = Section("Research", "Research", "research", "", (), (subtopic,))
    issue = Issue("2023-01", "T", dt.date(2023, 1, 1), "2023-01.md", "", (section,))
    text = issue_to_native(issue)
    assert "tags: [a, b c]\n---\n***\n\\## heading\n```\n## in code\n```\n\\### after\n" in text
    again = read_issue("2023-01.md", text.encode(), SiteConfig()).issue
    assert links(again)[0].commentary == "***\n\\## heading\n```\n## in code\n```\n\\### after"


@pytest.mark.parametrize(
    "value",
    [
        "*CALM*: a title",
        "key: value # not a comment",
        "---",
        "null",
        "2022-12-01",
        "'quoted' \"twice\"",
        "- dash",
        "[flow]",
        "줄\u2028바꿈\x85",
        "tab\there",
        "a" * 300,
    ],
)
def test_yaml_field_is_one_line_that_reads_back(value: str) -> None:
    for key, data in (("title", value), ("tags", [value, "b"])):
        line = yaml_field(key, data)
        assert "\n" not in line
        assert yaml.safe_load(line) == {key: data}


@pytest.mark.parametrize(
    ("heading", "written"),
    [("Research", "Research"), ("2. Foo", "1. 2. Foo"), ("3.2NLP", "3.2NLP")],
)
def test_heading_text_survives_the_numbering_strip(heading: str, written: str) -> None:
    assert heading_text(heading) == written


@pytest.mark.parametrize(
    ("after_link", "html"),
    [
        ("# of params matters", "<p># of params matters</p>"),
        ("- 1. first", "<p>- 1. first</p>"),
        ("1. first", "<p>1. first</p>"),
        ("2022) was the year", "<p>2022) was the year</p>"),
        ("> not a quote", "<p>&gt; not a quote</p>"),
        ("---", "<p>---</p>"),
    ],
)
def test_text_after_a_link_on_its_line_stays_text(after_link: str, html: str) -> None:
    # In the legacy list item it is text; moved to a line of its own it became a heading,
    # a list, a quote or a rule.
    from digest.markup import render_block

    text = f"# 2023년 1월\n## Research\n* [A (Jan 2023)](https://a.org): {after_link}\n"
    issue = read_issue("2023-01.md", text.encode(), SiteConfig()).issue
    [link] = issue.all_links()[0][2:]
    assert render_block(link.commentary).strip() == html


def test_import_refuses_a_native_file(tmp_path: Path) -> None:
    # Converting it again dropped what the legacy format cannot say (its `id:`s).
    result = run_digest("import", str(ROOT / "content" / "issues" / "2022-12.md"))
    assert result.returncode == 2 and "in the native format already" in result.stderr


def test_import_names_an_untitled_issue_by_the_destination_site(tmp_path: Path) -> None:
    # The README's own example converts a file from outside the content folder: the
    # title came from the built-in pattern, not from the site the file goes to.
    (tmp_path / "content" / "issues").mkdir(parents=True)
    (tmp_path / "content" / "site.yaml").write_text('title_pattern: "Digest {year}-{month:02d}"\n')
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "2023-01.md").write_text(
        "#\n## Research\n* [A (Jan 2023)](https://a.org)\n", encoding="utf-8"
    )
    target = tmp_path / "content" / "issues" / "2023-01.md"
    result = run_digest("import", str(tmp_path / "old" / "2023-01.md"), "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert "title: Digest 2023-01\n" in target.read_text(encoding="utf-8")
