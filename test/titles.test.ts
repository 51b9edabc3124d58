/** Titles and keywords (issue 13.4): normalised, filed in the store under a filter, weak evidence on a real server. */
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../src/core/bytes.js';
import { sha256 } from '../src/core/crypto.js';
import type { WorkRecord } from '../src/core/records.js';
import { effectOps } from '../src/store/ledger-store.js';
import { fileTitles, INDEXED_LENGTH, matchTitles, MAX_TITLE_LOOKUPS, normaliseTitle, TitleFilter, titleDigest, titleQuery, type FiledTitle } from '../src/core/titles.js';
import { parseVerifierKey } from '../src/core/checkpoint.js';
import { auditLedger } from '../src/store/audit.js';
import { key, prefixRange, PREFIX } from '../src/store/layout.js';
import { PAGE_BYTES } from '../src/store/mapped-pages.js';
import { openStore } from '../src/store/open-store.js';
import { levelDb, party, stmt, tempDir } from './helpers.js';
import { serverFixture } from './server-fixture.js';

describe('title normalisation', () => {
  it('folds traditional to simplified Chinese, full-width to half-width, case and separators', () => {
    expect(normaliseTitle('長安十二時辰')).toBe(normaliseTitle('长安十二时辰'));
    expect(normaliseTitle('長 安·十-二_時/辰')).toBe('长安十二时辰');
    expect(normaliseTitle('ＴＨＥ　Ｌａｓｔ　Ｆｉｌｍ!')).toBe('thelastfilm');
  });
});

/**
 * The pure search over an index held in a Map, as the store holds it under Z keys: the
 * filter, then the titles filed under each candidate prefix's digest.
 */
function indexOf(works: Array<[string, number, string[]]>, capacity = 1024) {
  const filter = new TitleFilter(capacity);
  const filed = new Map<string, FiledTitle[]>();
  for (const [work, index, titles] of works) {
    for (const f of fileTitles(work, index, titles)) {
      filter.add(f.hash);
      const at = toHex(f.digest);
      filed.set(at, [...(filed.get(at) ?? []), f]);
    }
  }
  return {
    query: (text: string) => titleQuery(text, filter),
    find: (text: string) => {
      const q = titleQuery(text, filter);
      return matchTitles(q, q.lookups.map((p) => filed.get(toHex(titleDigest(p))) ?? []));
    },
  };
}

describe('the title index', () => {
  const index = indexOf([
    ['w-changan', 3, ['长安十二时辰', "The Longest Day in Chang'an"]],
    ['w-hero', 4, ['英雄']],
    ['w-hero-2', 9, ['英雄']],
    ...Array.from({ length: 600 }, (_, i): [string, number, string[]] => [`w-${i}`, 100 + i, [`片名第${i}号作品`]]),
    // Two titles longer than the indexed prefix, the same for its first 48 characters.
    ['w-long-a', 700, ['a'.repeat(48) + ' the first ending']],
    ['w-long-b', 701, ['a'.repeat(48) + ' the second ending']],
  ]);

  it('finds a title in a traditional, spaced, bracketed text, and the recap pattern beside it', () => {
    const found = index.find('【速看】3分鐘看完《長安 十二時辰》全集');
    expect(found.matches.map((m) => [m.work, m.via])).toEqual([['w-changan', 'brackets']]);
    expect(found.use).toBe('recap');
    expect(index.find("the longest day in CHANG-AN? no: The Longest Day in Chang'an ep 3").matches.map((m) => m.work)).toEqual(['w-changan']);
  });

  it('counts a short title only in brackets or beside a pattern, and then every work so named, earliest first', () => {
    expect(index.find('一个英雄的故事').matches).toEqual([]);
    expect(index.find('《英雄》').matches.map((m) => m.work)).toEqual(['w-hero', 'w-hero-2']);
    expect(index.find('英雄 混剪').matches.map((m) => m.work)).toEqual(['w-hero', 'w-hero-2']);
    expect(index.find('英雄 混剪').use).toBe('compilation');
  });

  it('finds several titles in one text, and tells apart long titles that share the indexed prefix', () => {
    expect(index.find('今天看 片名第7号作品 和 片名第599号作品').matches.map((m) => m.work).sort()).toEqual(['w-599', 'w-7']);
    expect(index.find(`${'A'.repeat(48)} — the second ending, director's cut`).matches.map((m) => m.work)).toEqual(['w-long-b']);
    expect(index.find(`${'a'.repeat(48)} the third ending`).matches).toEqual([]);
  });

  it('reads at most MAX_TITLE_LOOKUPS prefixes for the longest text a check takes, whatever the filter says', () => {
    // A filter that holds everything: every substring of the text is a candidate.
    const saturated = new TitleFilter(1);
    for (let i = 0; i < 100_000; i++) saturated.add([i * 2654435761, i * 40503]);
    const text = Array.from({ length: 6000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20000))).join('');
    const q = titleQuery(`${text} 合集`, saturated);
    expect(q.lookups.length).toBe(MAX_TITLE_LOOKUPS);
    expect(q.lookups[0]!.length).toBe(INDEXED_LENGTH);
  });
});

describe('the title filter', () => {
  it('never misses a filed title and answers yes for under 0.3 % of others at its capacity', () => {
    const capacity = 100_000;
    const filter = new TitleFilter(capacity);
    const filed = Array.from({ length: capacity }, (_, i) => fileTitles(`w${i}`, i, [`作品 number ${i}`])[0]!);
    for (const f of filed) filter.add(f.hash);
    expect(filed.every((f) => filter.has(f.hash[0], f.hash[1]))).toBe(true);
    let falsePositives = 0;
    const probes = 200_000;
    for (let i = 0; i < probes; i++) {
      const [f] = fileTitles('x', 0, [`unfiled title ${i}`]);
      if (filter.has(f!.hash[0], f!.hash[1])) falsePositives++;
    }
    expect(falsePositives / probes).toBeLessThan(0.003);
    // 16 bits a title.
    expect(filter.bytes).toBeLessThanOrEqual((capacity * 16) / 8 + 32);
  });
});

describe('the title filter of a store', () => {
  it('grows as titles arrive, filled again from the store, and never misses one meanwhile', async () => {
    const store = await openStore(`${await tempDir()}/data`, { create: true, titleCapacity: 16 });
    try {
      const first = store.titleFilterBytes;
      const registered: WorkRecord[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const works = Array.from({ length: 10 }, (_, i): WorkRecord => {
          const n = batch * 10 + i;
          return { id: toHex(sha256(utf8(`work ${n}`))), registeredIndex: n, title: `第${n}号影片 The Film Number ${n}`, owner: toHex(sha256(utf8('owner'))), sha256: toHex(sha256(utf8(`content ${n}`))), lookalikes: [], head: n } as unknown as WorkRecord;
        });
        await store.write(effectOps({ workPrev: null, works: works.map((after) => ({ before: undefined, after })), licences: [] }));
        for (const work of works) store.indexTitles(work);
        registered.push(...works);
        // Asked at once, while a larger filter may still be filling: each title so far is found.
        const found = await Promise.all(registered.map((w) => store.findTitles(`《${w.title}》 full movie`)));
        expect(found.map((f) => f.matches[0]?.work)).toEqual(registered.map((w) => w.id));
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(store.titleFilterBytes).toBeGreaterThanOrEqual(first * 8);
      // Each filter replaced gave its page back to the index file, which the next one took:
      // four growths in two pages of the file, not five.
      expect(store.indexPages.mappedBytes).toBe(2 * PAGE_BYTES);
    } finally {
      await store.close();
    }
  });
});

describe('a check with a title, on a real server', () => {
  it('names the registered work at review strength without changing the verdict, after a restart, and after titles are filed for a store that had none', async () => {
    let s = await serverFixture();
    try {
      const alice = party();
      const registered = await s.submit(stmt.register(alice, undefined, { title: '长安十二时辰', aliases: ["The Longest Day in Chang'an"] }));
      const work = ((await registered.json()) as { id: string }).id;
      const ask = async () => {
        const res = await s.post('/v1/check', JSON.stringify({ title: '3分钟看完《長安十二時辰》', uploader: party().id, territory: 'FR' }), 'application/json');
        expect(res.status).toBe(200);
        return (await res.json()) as { verdict: string; titles: Array<{ work: { id: string }; via: string; strength: string; fingerprintAgrees: boolean }>; textUse: string };
      };
      const answer = await ask();
      expect(answer.verdict).toBe('unregistered');
      expect(answer.titles).toMatchObject([{ work: { id: work }, via: 'brackets', strength: 'review', fingerprintAgrees: false }]);
      expect(answer.textUse).toBe('recap');
      expect((await s.get(`/v1/works/${work}`).then((r) => r.json())) as object).toMatchObject({ aliases: ["The Longest Day in Chang'an"] });
      // The titles are in the store; the filter is rebuilt from them at start-up.
      await s.close();
      s = await serverFixture({ dir: s.dir });
      expect((await ask()).titles.map((t) => t.work.id)).toEqual([work]);
      // A store written before titles were filed (no Z records, no mark) has them filed at the next start.
      await s.close();
      const store = await openStore(`${s.dir}/data`);
      const db = levelDb(store);
      const filed = await db.iterator(prefixRange(PREFIX.title)).all();
      expect(filed.length).toBe(2);
      await db.batch([...filed.map(([k]) => ({ type: 'del' as const, key: k })), { type: 'del', key: key.meta('titles-filed') }]);
      await store.close();
      s = await serverFixture({ dir: s.dir });
      expect((await ask()).titles.map((t) => t.work.id)).toEqual([work]);
      expect(await auditLedger(s.ledger.store, parseVerifierKey(s.verifierKey))).toMatchObject({ ok: true });
    } finally {
      await s.close();
    }
  });
});
