/**
 * Type tests: `pnpm typecheck` (tsc over src and test) checks the
 * expectTypeOf lines and that every `@ts-expect-error` line really is an
 * error; vitest runs the file too (the calls go to a recorder, not a server).
 */
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type BoundService,
  type Caller,
  defineService,
  type HandlerHost,
  implement,
  msgpackCodec,
  Priority,
} from '../src/index.js';

interface Imaging {
  resize(input: { width: number; height: number; data: Uint8Array }): Promise<{ data: Uint8Array }>;
  stats(): { served: number; since: Date };
  label(input?: string): string;
}

const imaging = defineService<Imaging>('imaging', { resize: 1001, stats: 1002, label: 1003 });
const recorder: Caller = {
  callAsync: async () => ({ payload: msgpackCodec.encode({ served: 1, since: new Date(0) }) }),
};
const host: HandlerHost = { registerHandler: () => undefined };

describe('the types of a service', () => {
  it('give the bound proxy the methods of the interface, returning promises of their results', () => {
    const api = imaging.bind(recorder);
    expectTypeOf(api).toEqualTypeOf<BoundService<Imaging>>();
    expectTypeOf(api.resize).parameter(0).toEqualTypeOf<{ width: number; height: number; data: Uint8Array }>();
    expectTypeOf(api.resize).returns.toEqualTypeOf<Promise<{ data: Uint8Array }>>();
    expectTypeOf(api.stats).returns.toEqualTypeOf<Promise<{ served: number; since: Date }>>();
    expectTypeOf(api.stats).parameter(0).toEqualTypeOf<undefined>();
    expectTypeOf(api.label).parameter(0).toEqualTypeOf<string | undefined>();
  });

  it('accept a call with its input and options, or without input', async () => {
    const api = imaging.bind(recorder);
    const signal = new AbortController().signal;
    void api.resize(
      { width: 1, height: 1, data: new Uint8Array(1) },
      { priority: Priority.High, timeoutMs: 100, signal },
    );
    await api.stats();
    await api.stats(undefined, { timeoutMs: 50 });
    await api.label();
    await api.label('x', { timeoutMs: 5 });
  });

  it('reject wrong inputs, missing inputs, extra arguments and unknown methods', () => {
    const api = imaging.bind(recorder);
    const check = () => {
      // @ts-expect-error width must be a number
      void api.resize({ width: '1', height: 1, data: new Uint8Array(1) });
      // @ts-expect-error data is missing
      void api.resize({ width: 1, height: 1 });
      // @ts-expect-error resize needs its input
      void api.resize();
      // @ts-expect-error stats takes no input
      void api.stats(5);
      // @ts-expect-error the second argument is the call options
      void api.label('x', 'y');
      // @ts-expect-error a call has at most an input and the options
      void api.label('x', {}, 3);
      // @ts-expect-error no such method
      void api.resise;
      // @ts-expect-error priority is Priority.Normal or Priority.High
      void api.stats(undefined, { priority: 5 });
    };
    void check;
  });

  it('check the handlers against the interface', () => {
    implement(host, imaging, {
      async resize({ data }) {
        expectTypeOf(data).toEqualTypeOf<Uint8Array>();
        return { data };
      },
      stats: () => ({ served: 1, since: new Date() }),
      label: (input) => {
        expectTypeOf(input).toEqualTypeOf<string | undefined>();
        return input ?? '';
      },
    });
    const check = () => {
      implement(host, imaging, {
        resize: async ({ data }) => ({ data }),
        // @ts-expect-error served must be a number
        stats: () => ({ served: 'many', since: new Date() }),
        label: () => '',
      });
      // @ts-expect-error the handler of label is missing
      implement(host, imaging, {
        resize: async ({ data }) => ({ data }),
        stats: () => ({ served: 1, since: new Date() }),
      });
      implement(host, imaging, {
        resize: async ({ data }) => ({ data }),
        stats: () => ({ served: 1, since: new Date() }),
        label: () => '',
        // @ts-expect-error no such method
        crop: () => undefined,
      });
    };
    void check;
  });

  it('check the method table against the interface', () => {
    const check = () => {
      // @ts-expect-error label has no func id
      defineService<Imaging>('imaging', { resize: 1001, stats: 1002 });
      // @ts-expect-error no such method
      defineService<Imaging>('imaging', { resize: 1001, stats: 1002, label: 1003, crop: 1004 });
      // @ts-expect-error a func id is a number
      defineService<Imaging>('imaging', { resize: '1001', stats: 1002, label: 1003 });
      // @ts-expect-error the input schema's output must be the method's input
      defineService<Imaging>('imaging', { resize: { id: 1001, input: z.string() }, stats: 1002, label: 1003 });
      // @ts-expect-error a method takes at most one input value
      defineService<{ add(a: number, b: number): number }>('math', { add: 1001 });
    };
    void check;
    const schema = z.object({ width: z.number(), height: z.number(), data: z.instanceof(Uint8Array) });
    defineService<Imaging>('imaging', { resize: { id: 1001, input: schema }, stats: 1002, label: 1003 });
  });
});
