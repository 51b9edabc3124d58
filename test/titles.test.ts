/** Titles and keywords (issue 13.4): normalised, found by one automaton, weak evidence on a real server. */
import { describe, expect, it } from 'vitest';
import { normaliseTitle, TitleIndex } from '../src/core/titles.js';
import { party, stmt } from './helpers.js';
import { serverFixture } from './server-fixture.js';

describe('title normalisation', () => {
  it('folds traditional to simplified Chinese, full-width to half-width, case and separators', () => {
    expect(normaliseTitle('長安十二時辰')).toBe(normaliseTitle('长安十二时辰'));
    expect(normaliseTitle('長 安·十-二_時/辰')).toBe('长安十二时辰');
    expect(normaliseTitle('ＴＨＥ　Ｌａｓｔ　Ｆｉｌｍ!')).toBe('thelastfilm');
  });
});

describe('the title index', () => {
  const index = new TitleIndex();
  index.add('w-changan', 3, ['长安十二时辰', "The Longest Day in Chang'an"]);
  index.add('w-hero', 4, ['英雄']);
  index.add('w-hero-2', 9, ['英雄']);
  // More than the pending limit, so some are found through the built automaton and some naively.
  for (let i = 0; i < 600; i++) index.add(`w-${i}`, 100 + i, [`片名第${i}号作品`]);

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

  it('finds titles added before and after the automaton was built', () => {
    expect(index.find('今天看 片名第7号作品 和 片名第599号作品').matches.map((m) => m.work).sort()).toEqual(['w-599', 'w-7']);
  });
});

describe('a check with a title, on a real server', () => {
  it('names the registered work at review strength without changing the verdict, and survives a restart', async () => {
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
      // The index is rebuilt from the stored works at start-up.
      await s.close();
      s = await serverFixture({ dir: s.dir });
      expect((await ask()).titles.map((t) => t.work.id)).toEqual([work]);
    } finally {
      await s.close();
    }
  });
});
