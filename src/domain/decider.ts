import type { z } from 'zod';

/** A domain event as deciders see it: a type and its data. Metadata travels beside it, in the handler. */
export interface DomainEvent<TType extends string = string, TData = Record<string, unknown>> {
  type: TType;
  data: TData;
}

/** Turns `{ Name: zodSchema }` into the union of `{ type: 'Name', data: inferred }`. */
export type EventsOf<TSchemas extends Record<string, z.ZodType>> = {
  [K in keyof TSchemas & string]: DomainEvent<K, z.infer<TSchemas[K]>>;
}[keyof TSchemas & string];

export interface Decider<TCommand, TState, TEvent extends DomainEvent> {
  decide(command: TCommand, state: TState): TEvent[];
  evolve(state: TState, event: TEvent): TState;
  initialState(): TState;
}

/**
 * A rule of the domain said no. `code` is stable (clients match on it, and src/http/domain-statuses.ts maps it
 * to an HTTP status); `field` names the input at fault, when there is one.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
