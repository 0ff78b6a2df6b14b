/* Offline search for the digest: the browser half of digest/search.py.
 *
 * The split rule, the postings codec and the query algorithm here must match
 * digest/search.py exactly (tests/test_search.py runs both under node). No
 * dependencies, no third-party requests, data inserted with textContent only.
 *
 * Page contract: <input id="search-q">, <div id="search-results"> (optional
 * data-label-none, data-label-count with "{n}", data-label-more,
 * data-label-error), and this script tag with data-index (the index folder
 * URL) and data-base (the site's base path).
 */
(function () {
  "use strict";

  var FORMAT_VERSION = 2;
  var PAGE_SIZE = 20;
  var DEBOUNCE_MS = 150;
  var TOKEN = /[0-9a-z\u00df-\u00f6\u00f8-\u024f]+|[\uac00-\ud7a3]+/g;
  var DIACRITICS = /[\u0300-\u036f]/g;
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var LEVELS = [3, 2, 1];

  /* ---- the shared split rule ---- */

  function normalize(text) {
    var t = String(text).normalize("NFKC").toLowerCase();
    return t.normalize("NFD").replace(DIACRITICS, "").normalize("NFC");
  }

  function tokenize(text) {
    return normalize(text).match(TOKEN) || [];
  }

  function isHangul(token) {
    var c = token.charCodeAt(0);
    return c >= 0xac00 && c <= 0xd7a3;
  }

  function indexTerms(token) {
    if (!isHangul(token) || token.length === 1) return [token];
    var grams = [];
    for (var i = 0; i + 1 < token.length; i++) grams.push(token.slice(i, i + 2));
    return grams;
  }

  function queryVariants(token, particles) {
    if (isHangul(token)) {
      for (var i = 0; i < particles.length; i++) {
        var p = particles[i];
        if (token.length - p.length >= 2 && token.slice(-p.length) === p) {
          return [token, token.slice(0, token.length - p.length)];
        }
      }
    }
    return [token];
  }

  function queryTokens(query, limit) {
    var seen = new Set();
    var out = [];
    tokenize(query).forEach(function (t) {
      if (!seen.has(t)) {
        seen.add(t);
        out.push(t);
      }
    });
    return out.slice(0, limit);
  }

  function unique(items) {
    return Array.from(new Set(items));
  }

  function fnv1a(text) {
    var h = 0x811c9dc5;
    for (var ch of text) {
      h = Math.imul(h ^ ch.codePointAt(0), 0x01000193) >>> 0;
    }
    return h;
  }

  function shardFile(key, bucket, buckets) {
    var name = "";
    for (var ch of key) {
      if (/^[0-9A-Za-z]$/.test(ch)) name += ch;
      else name += "_" + ch.codePointAt(0).toString(16).padStart(4, "0");
    }
    return buckets === 1 ? "t/" + name + ".json" : "t/" + name + "." + bucket + ".json";
  }

  /* ---- postings codec ---- */

  var DIGITS = new Int8Array(128).fill(-1);
  for (var d = 0; d < ALPHABET.length; d++) DIGITS[ALPHABET.charCodeAt(d)] = d;

  // Calls fn(id) for each id of an encoded list, ascending.
  function forEachId(text, fn) {
    if (text.charCodeAt(0) === 46) {
      forEachBitmapId(text, fn);
      return;
    }
    var prev = -1;
    var value = 0;
    var scale = 1;
    var pendingRun = -1;
    for (var i = 0; i < text.length; i++) {
      var digit = DIGITS[text.charCodeAt(i)];
      value += (digit & 31) * scale;
      scale *= 32;
      if (digit >= 32) continue;
      if (pendingRun >= 0) {
        // value is the run length minus 2 after the run's first id.
        for (var id = pendingRun; id <= pendingRun + value + 1; id++) fn(id);
        prev = pendingRun + value + 1;
        pendingRun = -1;
      } else {
        var start = prev + 1 + Math.floor(value / 2);
        if (value % 2 === 1) {
          pendingRun = start;
        } else {
          fn(start);
          prev = start;
        }
      }
      value = 0;
      scale = 1;
    }
  }

  // The bitmap form: ".", the first id, then 6 ids per character.
  function forEachBitmapId(text, fn) {
    var first = 0;
    var scale = 1;
    var pos = 1;
    while (pos < text.length) {
      var digit = DIGITS[text.charCodeAt(pos++)];
      first += (digit & 31) * scale;
      scale *= 32;
      if (digit < 32) break;
    }
    for (var j = 0; pos < text.length; j++, pos++) {
      var bits = DIGITS[text.charCodeAt(pos)];
      for (var k = 0; k < 6; k++) if (bits & (1 << k)) fn(first + 6 * j + k);
    }
  }

  function decodeIds(text) {
    var ids = [];
    forEachId(text, function (id) {
      ids.push(id);
    });
    return ids;
  }

  // Calls fn(id, level) for each link of a shard entry ("title,meta,text").
  function forEachPosting(value, fn) {
    var parts = value.split(",");
    for (var i = 0; i < parts.length && i < LEVELS.length; i++) {
      var level = LEVELS[i];
      forEachId(parts[i], function (id) {
        fn(id, level);
      });
    }
  }

  /* ---- querying ---- */

  // load(path) returns a promise of the parsed JSON of one index file
  // (path relative to the index folder, e.g. "manifest.json", "t/tr.json").
  function createSearcher(load) {
    var files = new Map();
    var manifest = null;
    var buckets = new Map();
    var keys = [];

    function get(path) {
      if (!files.has(path)) {
        var promise = Promise.resolve().then(function () {
          return load(path);
        });
        // A failed download is retried by the next query, not cached.
        promise.catch(function () {
          files.delete(path);
        });
        files.set(path, promise);
      }
      return files.get(path);
    }

    var manifestPromise = null;

    // Promise of the manifest, loaded once (again after a failed download).
    function ready() {
      if (manifestPromise === null) {
        manifestPromise = get("manifest.json").then(function (m) {
          if (m.version !== FORMAT_VERSION) throw new Error("search index version " + m.version);
          m.keys.split(" ").forEach(function (entry) {
            if (!entry) return;
            var colon = entry.indexOf(":");
            if (colon < 0) buckets.set(entry, 1);
            else buckets.set(entry.slice(0, colon), parseInt(entry.slice(colon + 1), 10));
          });
          keys = Array.from(buckets.keys());
          manifest = m;
        });
        manifestPromise.catch(function () {
          manifestPromise = null;
        });
      }
      return manifestPromise;
    }

    function keyFiles(key) {
      var n = buckets.get(key);
      var out = [];
      for (var b = 0; b < n; b++) out.push(shardFile(key, b, n));
      return out;
    }

    function termFile(term) {
      var chars = Array.from(term);
      for (var end = chars.length; end > 0; end--) {
        var key = chars.slice(0, end).join("");
        if (buckets.has(key)) {
          var n = buckets.get(key);
          return shardFile(key, fnv1a(term) % n, n);
        }
      }
      return null;
    }

    function prefixPlan(prefix) {
      var matched = keys.filter(function (k) {
        return k.startsWith(prefix);
      });
      if (matched.length === 0) {
        var longest = null;
        keys.forEach(function (k) {
          if (prefix.startsWith(k) && (longest === null || k.length > longest.length)) longest = k;
        });
        matched = longest === null ? [] : [longest];
      }
      var out = [];
      matched.forEach(function (k) {
        out.push.apply(out, keyFiles(k));
      });
      return out.length <= manifest.prefix_files ? out : null;
    }

    function variantFiles(variant) {
      var plan = prefixPlan(variant);
      if (plan !== null) return { prefix: true, files: plan };
      var path = termFile(variant);
      return { prefix: false, files: path ? [path] : [] };
    }

    function isBigramVariant(variant) {
      return isHangul(variant) && variant.length > 1;
    }

    function tokenFiles(token) {
      var out = [];
      queryVariants(token, manifest.particles).forEach(function (variant) {
        if (isBigramVariant(variant)) {
          unique(indexTerms(variant)).forEach(function (gram) {
            var path = termFile(gram);
            if (path) out.push(path);
          });
        } else {
          out.push.apply(out, variantFiles(variant).files);
        }
      });
      return out;
    }

    function entry(shard, path, term) {
      var s = path ? shard(path) : null;
      return s && Object.prototype.hasOwnProperty.call(s, term) ? s[term] : null;
    }

    // Score per link id of one query token (0: no match). All files are
    // loaded by now: shard(path) is synchronous.
    function clause(token, shard) {
      var n = manifest.docs;
      var best = new Uint8Array(n);
      queryVariants(token, manifest.particles).forEach(function (variant, index) {
        var bonus = index === 0 ? 1 : 0;
        if (isBigramVariant(variant)) {
          var low = null;
          unique(indexTerms(variant)).forEach(function (gram) {
            var levels = new Uint8Array(n);
            var value = entry(shard, termFile(gram), gram);
            if (value !== null) {
              forEachPosting(value, function (doc, level) {
                levels[doc] = level;
              });
            }
            if (low === null) low = levels;
            else for (var i = 0; i < n; i++) if (levels[i] < low[i]) low[i] = levels[i];
          });
          for (var doc = 0; doc < n; doc++) {
            if (low[doc] && 2 * low[doc] + bonus > best[doc]) best[doc] = 2 * low[doc] + bonus;
          }
          return;
        }
        var vf = variantFiles(variant);
        vf.files.forEach(function (path) {
          var s = shard(path);
          var terms = vf.prefix
            ? Object.keys(s).filter(function (t) {
                return t.startsWith(variant);
              })
            : entry(shard, path, variant) !== null
              ? [variant]
              : [];
          terms.forEach(function (term) {
            var extra = term === variant ? bonus : 0;
            forEachPosting(s[term], function (doc, level) {
              if (2 * level + extra > best[doc]) best[doc] = 2 * level + extra;
            });
          });
        });
      });
      return best;
    }

    // Promise of the ids of links matching every query word, best first.
    function search(query) {
      return ready().then(function () {
        var tokens = queryTokens(query, manifest.max_tokens);
        var paths = unique(
          tokens.reduce(function (acc, t) {
            return acc.concat(tokenFiles(t));
          }, [])
        );
        return Promise.all(paths.map(get)).then(function (loaded) {
          var byPath = new Map();
          paths.forEach(function (p, i) {
            byPath.set(p, loaded[i]);
          });
          var shard = function (p) {
            return byPath.get(p);
          };
          var n = manifest.docs;
          var total = null;
          tokens.forEach(function (token) {
            var scores = clause(token, shard);
            if (total === null) {
              total = new Uint16Array(scores);
            } else {
              for (var i = 0; i < n; i++) total[i] = total[i] && scores[i] ? total[i] + scores[i] : 0;
            }
          });
          if (total === null) return [];
          // Best score first, then highest id (newest): a bucket per score.
          var buckets = [];
          for (var doc = n - 1; doc >= 0; doc--) {
            var score = total[doc];
            if (score) (buckets[score] || (buckets[score] = [])).push(doc);
          }
          var ids = [];
          for (var s = buckets.length - 1; s > 0; s--) {
            var bucket = buckets[s] || [];
            for (var k = 0; k < bucket.length; k++) ids.push(bucket[k]);
          }
          return ids;
        });
      });
    }

    // Promise of the metadata of links by id, loading only their chunks.
    function documents(ids) {
      return ready().then(function () {
        var chunk = manifest.chunk;
        return Promise.all(
          ids.map(function (id) {
            return get("d/" + Math.floor(id / chunk) + ".json").then(function (rows) {
              var r = rows[id % chunk];
              return { url: r[0], title: r[1], source: r[2], issue_title: r[3], date: r[4] };
            });
          })
        );
      });
    }

    return {
      search: search,
      documents: documents,
      plan: function (query) {
        return ready().then(function () {
          return unique(
            queryTokens(query, manifest.max_tokens).reduce(function (acc, t) {
              return acc.concat(tokenFiles(t));
            }, [])
          );
        });
      },
    };
  }

  var api = {
    normalize: normalize,
    tokenize: tokenize,
    isHangul: isHangul,
    indexTerms: indexTerms,
    queryVariants: queryVariants,
    fnv1a: fnv1a,
    shardFile: shardFile,
    decodeIds: decodeIds,
    forEachPosting: forEachPosting,
    createSearcher: createSearcher,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (typeof document === "undefined" || typeof window === "undefined") return;

  /* ---- the page ---- */

  var script =
    document.currentScript || document.querySelector("script[data-index][src$='search.js']");

  function start() {
    var input = document.getElementById("search-q");
    var results = document.getElementById("search-results");
    if (!script || !input || !results) return;
    var indexUrl = script.getAttribute("data-index") || "search/";
    var base = script.getAttribute("data-base") || "/";
    var pageLang = (document.documentElement.getAttribute("lang") || "").toLowerCase();
    var labels = {
      none: results.getAttribute("data-label-none") || "No results.",
      count: results.getAttribute("data-label-count"),
      more: results.getAttribute("data-label-more") || "Show more results",
      error: results.getAttribute("data-label-error") || "Search is unavailable.",
    };
    var searcher = createSearcher(function (path) {
      return fetch(indexUrl + path).then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + path);
        return r.json();
      });
    });
    var generation = 0;
    var timer = 0;

    function countText(n) {
      if (labels.count) return labels.count.replace("{n}", String(n));
      return n === 1 ? "1 result" : n + " results";
    }

    function element(tag, className, text) {
      var el = document.createElement(tag);
      if (className) el.className = className;
      if (text !== undefined) el.textContent = text;
      return el;
    }

    function renderDocs(list, docs) {
      docs.forEach(function (doc) {
        var li = element("li", "search-result");
        var a = element("a", "search-result-link");
        a.href = base + doc.url;
        var title = element("span", "search-result-title", doc.title);
        // English titles on a Korean page carry their own lang (screen readers).
        if (pageLang.indexOf("ko") === 0 && !/[\uac00-\ud7a3]/.test(doc.title)) {
          title.setAttribute("lang", "en");
        }
        a.appendChild(title);
        var meta = [doc.source, doc.issue_title].filter(Boolean).join(" · ");
        if (meta) {
          a.appendChild(document.createTextNode(" "));
          a.appendChild(element("span", "search-result-meta", meta));
        }
        li.appendChild(a);
        list.appendChild(li);
      });
    }

    function showPage(ids, shown, list, more, run) {
      var next = ids.slice(shown, shown + PAGE_SIZE);
      return searcher.documents(next).then(function (docs) {
        if (run !== generation) return;
        renderDocs(list, docs);
        more.hidden = shown + next.length >= ids.length;
        more.onclick = function () {
          showPage(ids, shown + next.length, list, more, run);
        };
      });
    }

    function setUrl(query) {
      var url = new URL(window.location.href);
      if (query) url.searchParams.set("q", query);
      else url.searchParams.delete("q");
      if (url.href !== window.location.href) window.history.replaceState(null, "", url.href);
    }

    function run(query) {
      var current = ++generation;
      setUrl(query.trim() ? query : "");
      if (!query.trim()) {
        results.replaceChildren();
        return;
      }
      searcher
        .search(query)
        .then(function (ids) {
          if (current !== generation) return undefined;
          if (ids.length === 0) {
            results.replaceChildren(element("p", "search-none", labels.none));
            return undefined;
          }
          var list = element("ol", "search-result-list");
          var more = element("button", "search-more", labels.more);
          more.type = "button";
          more.hidden = true;
          return showPage(ids, 0, list, more, current).then(function () {
            if (current !== generation) return;
            results.replaceChildren(element("p", "search-count", countText(ids.length)), list, more);
          });
        })
        .catch(function () {
          if (current === generation) {
            results.replaceChildren(element("p", "search-error", labels.error));
          }
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        run(input.value);
      }, DEBOUNCE_MS);
    });
    if (input.form) {
      input.form.addEventListener("submit", function (event) {
        event.preventDefault();
        window.clearTimeout(timer);
        run(input.value);
      });
    }
    var initial = new URLSearchParams(window.location.search).get("q") || "";
    if (initial) {
      input.value = initial;
      run(initial);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
