"""Search index benchmark: size, first-query download and query time at N issues.

    python bench/search_bench.py --issues 1000

Builds a seeded synthetic digest (N issues x 30 links, English titles, Korean
commentary of about 300 bytes with particles and compounds), indexes it with
digest.search, and reports what the browser's first query would download
(manifest + shards + the metadata chunks of the first 20 results) and how long
a query takes, cold (parsing the fetched JSON included) and warm, in Python and
in node running static/search.js.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.search import SearchDoc, SearchIndexReader, build_search_index  # noqa: E402

LINKS_PER_ISSUE = 30
RESULTS_SHOWN = 20
QUERIES = [
    "모델",
    "러닝",
    "transf",
    "추천시스템",
    "모델과",
    "서울",
    "딥러닝 학습",
    "the",
    "t",
    "모",
]
LONG_QUERY = "딥러닝 모델과 추천시스템을 서울에서 학습하는 데이터를 이미지로 평가했다"


def words(text: str) -> list[str]:
    """A vocabulary written as whitespace-separated words."""
    return text.split()


ENGLISH = words("""
transformer transformers model models language large learning deep neural network networks
training inference fine tuning diffusion image vision speech text generation retrieval search
recommendation recommender systems graph reinforcement feedback human policy reward agent
agents benchmark dataset data scaling efficient attention embedding embeddings vector
quantization distillation compression serving latency throughput gpu tpu cluster pipeline
mlops feature store evaluation alignment safety prompt prompting chain thought reasoning
multimodal contrastive self supervised semi zero shot few classification detection
segmentation tracking translation summarization question answering dialogue chatbot open
source release paper study survey introduction guide lessons production scale billion
parameters sparse mixture experts routing memory context window long short tokens
tokenizer vocabulary pretraining instruction tuning rlhf ppo dpo lora adapter mobile
edge device on ranking personalization ads click prediction forecasting time series
anomaly fraud causal inference experiment bayesian optimization hyperparameter
architecture design building how we our new the a of for with and in to at from using
""")
TITLE_EXTRAS = ["GPT-4", "BERT", "T5", "CLIP", "Stable Diffusion", "LLaMA", "PaLM", "2.0"]
SOURCES = words("""
Google Meta DeepMind OpenAI Microsoft HuggingFace Amazon Apple Netflix Uber Airbnb Spotify
Pinterest LinkedIn Twitter Nvidia Anthropic Cohere Databricks Snowflake Stanford MIT
Berkeley CMU 네이버 카카오 스캐터랩 하이퍼커넥트 당근마켓 토스 라인 쿠팡 우아한형제들
삼성 LG 업스테이지 뤼튼 리디 왓챠 넥슨 엔씨소프트 SK텔레콤 KT
""")
KOREAN = words("""
모델 학습 데이터 딥러닝 머신러닝 추천시스템 추천 시스템 언어 이미지 생성 추론 서빙 검색
임베딩 파인튜닝 강화학습 보상 정책 사용자 서비스 성능 정확도 비용 구조 방법 결과 실험
논문 연구 개발 적용 사례 문제 해결 효율 속도 메모리 분산 처리 파이프라인 플랫폼 인프라
서울 한국어 영어 번역 요약 질의응답 대화 챗봇 음성 인식 비전 텍스트 멀티모달 그래프
벡터 유사도 랭킹 개인화 광고 클릭 예측 평가 지표 벤치마크 데이터셋 레이블 자가 지도
대규모 언어모델 프롬프트 에이전트 도구 코드 오픈소스 공개 소개 정리 비교 분석 설명 방식
기법 아키텍처 트랜스포머 어텐션 디퓨전 양자화 경량화 최적화 하이퍼파라미터 배포 운영
모니터링 로그 실시간 배치 스트리밍 피처 스토어 실험 결과 이유 과정 경험 팀 회사
""")
# "" three times: most words carry no particle.
PARTICLE_ENDINGS = [
    "",
    "",
    "",
    *words("""
과 와 은 는 이 가 을 를 에 의 로 으로 에서 에게 도 만 까지 부터 처럼 보다 하고
"""),
]
VERBS = words("""
한다 했다 있다 없다 위한 통해 대한 하여 이용하여 줄이기 높이기 만들기 소개한다 설명한다
비교한다 적용했다 개선했다
""")
SYLLABLES = "".join(
    words("""
가나다라마바사아자차카타파하 거너더러머버서어저처커터퍼허 고노도로모보소오조초코토포호
구누두루무부수우주추쿠투푸후 기니디리미비시이지치키티피히 개내대래매배새애재채캐태패해
""")
)


def synthetic_docs(issues: int, seed: int) -> list[SearchDoc]:
    """N issues x 30 links, newest first, seeded."""
    rng = random.Random(seed)
    # A long tail of rarer Korean words and English names, as real text has.
    korean = KOREAN + [
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(4000)
    ]
    english = ENGLISH + [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 10)))
        for _ in range(6000)
    ]
    tags = [w for w in ENGLISH if len(w) > 3][:80] + KOREAN[:40]
    k_weights = list(itertools.accumulate(1 / (i + 1) ** 1.05 for i in range(len(korean))))
    e_weights = list(itertools.accumulate(1 / (i + 1) ** 1.05 for i in range(len(english))))

    docs: list[SearchDoc] = []
    for n in range(issues):
        year, month = 2100 - n // 12, 12 - n % 12
        issue_title = f"{year}년 {month}월 ML 읽을거리"
        date = f"{year:04d}-{month:02d}-01"
        for k in range(LINKS_PER_ISSUE):
            title_words = rng.choices(english, cum_weights=e_weights, k=rng.randint(4, 9))
            if rng.random() < 0.3:
                title_words.insert(rng.randrange(len(title_words)), rng.choice(TITLE_EXTRAS))
            if rng.random() < 0.15:  # Korean titles, and Latin glued to Hangul
                title_words += [w + rng.choice(PARTICLE_ENDINGS) for w in rng.choices(korean, k=3)]
            title = " ".join(w.capitalize() if rng.random() < 0.6 else w for w in title_words)
            parts: list[str] = []
            while len(" ".join(parts).encode()) < 300:
                r = rng.random()
                if r < 0.7:
                    word = rng.choices(korean, cum_weights=k_weights)[0]
                    if rng.random() < 0.25:  # compounds: 딥러닝모델, 추천시스템구조
                        word += rng.choices(korean, cum_weights=k_weights)[0]
                    parts.append(word + rng.choice(PARTICLE_ENDINGS))
                elif r < 0.85:
                    parts.append(rng.choice(VERBS))
                else:
                    word = rng.choices(english, cum_weights=e_weights)[0]
                    glue = rng.choice(["", "", "을", "보다", "(= PPO)", "로"])
                    parts.append(word.capitalize() + glue)
            docs.append(
                SearchDoc(
                    url=f"issues/{date[:7]}/#link-{k}",
                    title=title,
                    source=rng.choice(SOURCES),
                    tags=tuple(rng.sample(tags, rng.randint(0, 3))),
                    text=" ".join(parts),
                    issue_title=issue_title,
                    date=date,
                )
            )
    return docs


def first_query(files: dict[str, bytes], query: str) -> tuple[int, dict[str, int], float, float]:
    """(results, bytes fetched by kind and gzipped, cold ms, warm ms) on a fresh reader."""

    def load(path: str) -> object:
        return json.loads(files["search/" + path])

    colds, warms = [], []
    for _ in range(3):
        start = time.perf_counter()
        reader = SearchIndexReader(load)
        ids = reader.search(query)
        reader.documents(ids[:RESULTS_SHOWN])
        colds.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        reader.documents(reader.search(query)[:RESULTS_SHOWN])
        warms.append((time.perf_counter() - start) * 1000)
    cold, warm = sorted(colds)[1], sorted(warms)[1]
    fetched = {"manifest": 0, "shards": 0, "docs": 0, "gzip": 0}
    for path in reader.fetched:
        kind = "manifest" if path == "manifest.json" else "shards" if path[0] == "t" else "docs"
        fetched[kind] += len(files["search/" + path])
        fetched["gzip"] += len(gzip.compress(files["search/" + path], mtime=0))
    return len(ids), fetched, cold, warm


NODE_BENCH = r"""
const fs = require("fs"), path = require("path");
const [, , jsPath, dir, queriesJson] = process.argv;
const api = require(jsPath);
const raw = new Map();
const read = (p) => {
  if (!raw.has(p)) raw.set(p, fs.readFileSync(path.join(dir, "search", p), "utf8"));
  return raw.get(p);
};
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
(async () => {
  const out = {};
  for (const q of JSON.parse(queriesJson)) {
    // Files are read from disk beforehand: timed is parsing them, as after a
    // download, and answering. Cold: a fresh searcher (median of 5).
    const cold = [], warm = [];
    let n = 0;
    for (let run = 0; run < 6; run++) {
      let t = process.hrtime.bigint();
      const s = api.createSearcher((p) => JSON.parse(read(p)));
      const ids = await s.search(q);
      await s.documents(ids.slice(0, 20));
      if (run > 0) cold.push(ms(t));  // run 0 only fills the file cache
      n = ids.length;
      t = process.hrtime.bigint();
      await s.documents((await s.search(q)).slice(0, 20));
      warm.push(ms(t));
    }
    out[q] = { n, cold: median(cold), warm: median(warm) };
  }
  process.stdout.write(JSON.stringify(out));
})();
"""


def node_timings(files: dict[str, bytes], queries: list[str]) -> dict[str, dict[str, float]] | None:
    """Cold and warm query times of static/search.js under node, or None without node."""
    node = shutil.which("node")
    if node is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        for rel, data in files.items():
            target = Path(tmp) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        script = Path(tmp) / "bench.js"
        script.write_text(NODE_BENCH, encoding="utf-8")
        proc = subprocess.run(
            [node, str(script), str(ROOT / "static" / "search.js"), tmp, json.dumps(queries)],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, dict[str, float]] = json.loads(proc.stdout)
    return result


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the index files here")
    args = parser.parse_args()

    docs = synthetic_docs(args.issues, args.seed)
    text_bytes = sum(len(d.text.encode()) for d in docs)
    start = time.perf_counter()
    files = build_search_index(docs)
    build_s = time.perf_counter() - start
    if args.out:
        for rel, data in files.items():
            target = args.out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    shards = sorted(len(b) for p, b in files.items() if p.startswith("search/t/"))
    chunks = [len(b) for p, b in files.items() if p.startswith("search/d/")]
    total = sum(len(b) for b in files.values())
    gzipped = sum(len(gzip.compress(b, mtime=0)) for b in files.values())
    per_link = text_bytes / max(1, len(docs))
    print(f"corpus: {args.issues} issues, {len(docs)} links, commentary {per_link:.0f} B/link")
    print(f"build: {build_s:.1f} s")
    print(f"index: {total / 1e6:.1f} MB in {len(files)} files (gzip {gzipped / 1e6:.1f} MB)")
    print(
        f"  manifest {len(files['search/manifest.json']) / 1e3:.1f} KB; {len(shards)} shards, "
        f"median {shards[len(shards) // 2] / 1e3:.1f} KB, max {shards[-1] / 1e3:.1f} KB; "
        f"{len(chunks)} metadata chunks, max {max(chunks) / 1e3:.1f} KB"
    )
    queries = [*QUERIES, LONG_QUERY]
    timings = node_timings(files, queries)
    print()
    print(
        "first query: KB fetched = manifest + shards + metadata of the first 20 results;"
        " times: median, cold (fresh reader, JSON parsing included) and warm"
    )
    columns = ["query", "results", "KB", "(m+s+d)", "gzip KB", "py cold", "py warm", "js cold"]
    rows = [[*columns, "js warm"]]
    for query in queries:
        n, fetched, cold, warm = first_query(files, query)
        fetched_raw = {k: v for k, v in fetched.items() if k != "gzip"}
        js = timings.get(query) if timings else None
        rows.append(
            [
                query if len(query) < 16 else query[:14] + "…",
                str(n),
                f"{sum(fetched_raw.values()) / 1e3:.1f}",
                "+".join(f"{fetched[k] / 1e3:.0f}" for k in ("manifest", "shards", "docs")),
                f"{fetched['gzip'] / 1e3:.1f}",
                f"{cold:.1f} ms",
                f"{warm:.1f} ms",
                f"{js['cold']:.1f} ms" if js else "-",
                f"{js['warm']:.1f} ms" if js else "-",
            ]
        )
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            pad(cell, w, left=i == 0) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells))


def display_width(text: str) -> int:
    """Columns a string takes in a terminal (Hangul is two wide)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int, left: bool) -> str:
    """Pad to a display width, left- or right-aligned."""
    space = " " * (width - display_width(text))
    return text + space if left else space + text


if __name__ == "__main__":
    main()
