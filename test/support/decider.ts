import { expect } from 'vitest';
import { type Decider, DomainError, type DomainEvent } from '../../src/domain/decider.ts';

/**
 * Given/when/then for deciders:
 *   given([accountCreated]).when(activate).then([proactiveActivated, ...]);
 *   given([]).when(activate).thenThrows('ACCOUNT_NOT_FOUND');
 */
export function deciderSpec<C, S, E extends DomainEvent>(decider: Decider<C, S, E>) {
  return {
    given(history: E[]) {
      const state = history.reduce(decider.evolve, decider.initialState());
      return {
        when(command: C) {
          const act = () => decider.decide(command, state);
          return {
            // biome-ignore lint/suspicious/noThenProperty: the given/when/then sentence of CONVENTIONS.md; never awaited.
            then(expected: E[]) {
              expect(act()).toEqual(expected);
            },
            thenThrows(code: string) {
              let caught: unknown;
              try {
                act();
              } catch (error) {
                caught = error;
              }
              expect(caught, `expected ${code} to be thrown`).toBeInstanceOf(DomainError);
              expect((caught as DomainError).code).toBe(code);
            },
            /** For checks on the decided events that equality alone does not express. */
            events: act,
          };
        },
      };
    },
  };
}
