/** The part of hypercore 11 the benchmark uses (the package ships no types). */
declare module 'hypercore' {
  export default class Hypercore {
    constructor(storage: string);
    readonly length: number;
    ready(): Promise<void>;
    append(blocks: Buffer | Buffer[]): Promise<{ length: number }>;
    close(): Promise<void>;
  }
}
