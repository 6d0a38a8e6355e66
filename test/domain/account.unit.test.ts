import { describe, expect, it } from 'vitest';
import type { AccountEvent } from '../../src/domain/account.ts';
import * as account from '../../src/domain/account.ts';
import { deciderSpec } from '../support/decider.ts';

const { given } = deciderSpec(account);
const accountId = 'acme';
const created: AccountEvent = {
  type: 'AccountCreated',
  data: { accountId, name: 'Acme', defaultTimeZone: 'Europe/London' },
};
const admin: AccountEvent = {
  type: 'UserAdded',
  data: { accountId, userId: 'u-admin', kind: 'person', email: 'ada@acme.test', name: 'Ada', role: 'admin' },
};
const activated: AccountEvent = { type: 'ProactiveActivated', data: { accountId } };
const bot = (index: 0 | 1, userId: string): AccountEvent => ({
  type: 'UserAdded',
  data: { accountId, userId, kind: 'bot', email: null, name: account.BOT_USER_NAMES[index], role: 'bot' },
});
const activate = { type: 'ActivateProactive', accountId, botUserIds: ['b1', 'b2'] } as const;

describe('account decider', () => {
  it('creates an account once', () => {
    given([])
      .when({ type: 'CreateAccount', accountId, name: 'Acme', defaultTimeZone: 'Europe/London' })
      .then([created]);
    given([created])
      .when({ type: 'CreateAccount', accountId, name: 'Again', defaultTimeZone: 'UTC' })
      .thenThrows('ACCOUNT_EXISTS');
  });

  it('activating Proactive creates the two bot users', () => {
    given([created, admin])
      .when(activate)
      .then([activated, bot(0, 'b1'), bot(1, 'b2')]);
  });

  it('refuses to activate an account that does not exist', () => {
    given([]).when(activate).thenThrows('ACCOUNT_NOT_FOUND');
  });

  it('refuses a second activation while both bots exist', () => {
    given([created, admin, activated, bot(0, 'b1'), bot(1, 'b2')])
      .when(activate)
      .thenThrows('PROACTIVE_ALREADY_ACTIVE');
  });

  it('activating again after a bot was deleted restores only that bot', () => {
    given([
      created,
      admin,
      activated,
      bot(0, 'b1'),
      bot(1, 'b2'),
      { type: 'UserRemoved', data: { accountId, userId: 'b2' } },
    ])
      .when({ ...activate, botUserIds: ['n1', 'n2'] })
      .then([bot(1, 'n2')]);
  });

  it('reports missing bot users', () => {
    const state = [created, activated, bot(0, 'b1')].reduce(account.evolve, account.initialState());
    expect(account.missingBotUsers(state)).toEqual(['prmsg-bot-user-2']);
  });

  it('adds users with unique, normalised emails', () => {
    given([created])
      .when({ type: 'AddUser', accountId, userId: 'u-admin', email: ' Ada@Acme.test ', name: 'Ada', role: 'admin' })
      .then([admin]);
    given([created, admin])
      .when({ type: 'AddUser', accountId, userId: 'u2', email: 'ADA@acme.test', name: 'Ada 2', role: 'agent' })
      .thenThrows('USER_EMAIL_TAKEN');
  });

  it('changes roles but keeps at least one admin', () => {
    const second: AccountEvent = {
      type: 'UserAdded',
      data: { accountId, userId: 'u2', kind: 'person', email: 'bo@acme.test', name: 'Bo', role: 'agent' },
    };
    given([created, admin, second])
      .when({ type: 'ChangeRole', accountId, userId: 'u2', role: 'campaign_manager' })
      .then([
        { type: 'RoleChanged', data: { accountId, userId: 'u2', role: 'campaign_manager', previousRole: 'agent' } },
      ]);
    given([created, admin])
      .when({ type: 'ChangeRole', accountId, userId: 'u-admin', role: 'auditor' })
      .thenThrows('LAST_ADMIN');
    given([created, admin]).when({ type: 'RemoveUser', accountId, userId: 'u-admin' }).thenThrows('LAST_ADMIN');
    given([created, admin]).when({ type: 'ChangeRole', accountId, userId: 'u-admin', role: 'admin' }).then([]);
    given([created]).when({ type: 'RemoveUser', accountId, userId: 'ghost' }).thenThrows('USER_NOT_FOUND');
  });

  it('bot users have no role to change, but can be removed', () => {
    given([created, admin, activated, bot(0, 'b1')])
      .when({ type: 'ChangeRole', accountId, userId: 'b1', role: 'agent' })
      .thenThrows('BOT_ROLE_FIXED');
    given([created, admin, activated, bot(0, 'b1')])
      .when({ type: 'RemoveUser', accountId, userId: 'b1' })
      .then([{ type: 'UserRemoved', data: { accountId, userId: 'b1' } }]);
  });
});
