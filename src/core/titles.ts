/**
 * Titles and keywords (关键词, issue 13.4): which registered works an upload's title and
 * description name. Every work's title and aliases go into one Aho–Corasick automaton, so a
 * text is scanned once whatever the number of works. Both sides are normalised first:
 * full-width → half-width and compatibility forms (NFKC), lower case, traditional →
 * simplified Chinese (OpenCC), and every space, punctuation mark and symbol removed, so
 * "長 安·十二時辰" finds 长安十二时辰. Titles in 《…》 and the recap and compilation
 * patterns platforms see ("3分钟看完", 速看, 解说, 合集, 混剪…) are recognised.
 * A title match alone is weak evidence: a check reports it at review strength.
 */
import { Converter } from 'opencc-js/t2cn';

const toSimplified = Converter({ from: 't', to: 'cn' });
const SEPARATORS = /[\s\p{P}\p{S}]/gu;

/** The form titles are compared in. */
export function normaliseTitle(text: string): string {
  return toSimplified(text.normalize('NFKC').toLowerCase()).replace(SEPARATORS, '');
}

/** Titles shorter than this (normalised) are too common to count unless in 《…》 or beside a pattern. */
export const MIN_FREE_TITLE = 4;

const PATTERNS: Array<{ use: 'recap' | 'compilation' | 'clip'; re: RegExp }> = [
  { use: 'recap', re: /[0-9一二三四五六七八九十百几]+分钟(带你)?(看完|看懂|读完|速看)|速看|解说|看完|剧情|一口气/ },
  { use: 'compilation', re: /合集|合辑|混剪|盘点|高能片段|名场面/ },
  { use: 'clip', re: /大结局|片段|cut|切片/ },
];

export interface TitleMatch {
  work: string;
  /** the ledger index of the work's registration: ties break by it */
  workIndex: number;
  /** the registered title or alias that was found */
  title: string;
  /** found inside 《…》, or in the running text */
  via: 'brackets' | 'text';
}

export interface TitleFindings {
  matches: TitleMatch[];
  /** the use the text's patterns imply, if any */
  use: 'recap' | 'compilation' | 'clip' | null;
}

interface Node {
  next: Map<string, number>;
  fail: number;
  /** pattern numbers ending here (through fail links too, once built) */
  out: number[];
}

/** At most this many works reported for one text. */
const MAX_TITLE_MATCHES = 16;
// New titles are searched naively until they outnumber this and a quarter of the built ones,
// then the automaton is rebuilt: rebuilds grow geometrically, so each title costs a constant
// amount of rebuilding however many there are (a rebuild every 512 titles made loading a
// catalogue quadratic: ~9 % of a bulk load's CPU at 40,000 works), and a text's naive scan
// stays a fraction of the index.
const PENDING_LIMIT = 512;

export class TitleIndex {
  private readonly patterns: Array<{ key: string; title: string; work: string; workIndex: number }> = [];
  private readonly known = new Set<string>();
  private nodes: Node[] = [{ next: new Map(), fail: 0, out: [] }];
  private built = 0;

  has(work: string): boolean {
    return this.known.has(work);
  }

  /** Indexes a work's title and aliases under its registration's ledger index. */
  add(work: string, workIndex: number, titles: readonly string[]): void {
    if (this.known.has(work)) return;
    this.known.add(work);
    for (const title of titles) {
      const key = normaliseTitle(title);
      if (key.length > 0) this.patterns.push({ key, title, work, workIndex });
    }
    if (this.patterns.length - this.built > Math.max(PENDING_LIMIT, this.built / 4)) this.build();
  }

  private build(): void {
    const nodes: Node[] = [{ next: new Map(), fail: 0, out: [] }];
    this.patterns.forEach((p, n) => {
      let at = 0;
      for (const ch of p.key) {
        let to = nodes[at]!.next.get(ch);
        if (to === undefined) {
          to = nodes.push({ next: new Map(), fail: 0, out: [] }) - 1;
          nodes[at]!.next.set(ch, to);
        }
        at = to;
      }
      nodes[at]!.out.push(n);
    });
    // Breadth first: a node's fail link is the longest proper suffix that is also a prefix.
    const queue = [...nodes[0]!.next.values()];
    for (let i = 0; i < queue.length; i++) {
      const node = nodes[queue[i]!]!;
      for (const [ch, child] of node.next) {
        let f = node.fail;
        while (f !== 0 && !nodes[f]!.next.has(ch)) f = nodes[f]!.fail;
        const target = nodes[f]!.next.get(ch);
        nodes[child]!.fail = target !== undefined && target !== child ? target : 0;
        for (const n of nodes[nodes[child]!.fail]!.out) nodes[child]!.out.push(n);
        queue.push(child);
      }
    }
    this.nodes = nodes;
    this.built = this.patterns.length;
  }

  /** Pattern numbers found in normalised text `s`. */
  private scan(s: string): Set<number> {
    const found = new Set<number>();
    let at = 0;
    for (const ch of s) {
      while (at !== 0 && !this.nodes[at]!.next.has(ch)) at = this.nodes[at]!.fail;
      at = this.nodes[at]!.next.get(ch) ?? 0;
      for (const n of this.nodes[at]!.out) found.add(n);
    }
    for (let n = this.built; n < this.patterns.length; n++) if (s.includes(this.patterns[n]!.key)) found.add(n);
    return found;
  }

  /**
   * The works an upload's title and description name. A title shorter than MIN_FREE_TITLE
   * counts only as the whole of a 《…》 title or when the text also has a recap, compilation
   * or clip pattern. At most MAX_TITLE_MATCHES works, the longest title first, then the
   * earliest registration.
   */
  find(text: string): TitleFindings {
    const bracketed = new Set([...text.normalize('NFKC').matchAll(/《([^《》]{1,200})》/g)].map((m) => normaliseTitle(m[1] as string)));
    const whole = normaliseTitle(text);
    const use = PATTERNS.find((p) => p.re.test(whole))?.use ?? null;
    const best = new Map<string, TitleMatch & { length: number }>();
    for (const n of this.scan(whole)) {
      const p = this.patterns[n]!;
      const via = bracketed.has(p.key) ? 'brackets' : 'text';
      if (p.key.length < MIN_FREE_TITLE && via === 'text' && use === null) continue;
      const seen = best.get(p.work);
      if (!seen || p.key.length > seen.length) best.set(p.work, { work: p.work, workIndex: p.workIndex, title: p.title, via, length: p.key.length });
    }
    const matches = [...best.values()]
      .sort((a, b) => b.length - a.length || a.workIndex - b.workIndex)
      .slice(0, MAX_TITLE_MATCHES)
      .map(({ length: _, ...m }) => m);
    return { matches, use };
  }
}
