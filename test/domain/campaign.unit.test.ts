import { describe, expect, it } from 'vitest';
import type { CampaignCommand, CampaignEvent } from '../../src/domain/campaign.ts';
import * as campaign from '../../src/domain/campaign.ts';
import { deciderSpec } from '../support/decider.ts';

const { given } = deciderSpec(campaign);
const accountId = 'acme';
const campaignId = 'camp1';
const now = '2026-11-24T10:00:00.000Z';
const later = '2026-11-24T12:00:00.000Z';
const earlier = '2026-11-24T08:00:00.000Z';

const draftedData = {
  accountId,
  campaignId,
  name: 'Launch',
  channel: 'sms',
  senderId: 's1',
  senderAddress: '+15005550006',
  skillId: 'sales',
  text: 'Hello {{name}}',
  optOutText: 'Reply STOP to opt out',
  lookbackHours: 24,
  routeAllWithinLookback: false,
  source: 'web',
  handoffId: null,
  consent: true,
} as const;
const drafted: CampaignEvent = { type: 'CampaignDrafted', data: draftedData };
const draft: CampaignCommand = { type: 'DraftCampaign', ...draftedData };

const incoming = (consumerRef: string) => ({ consumerRef, sealed: `sealed:${consumerRef}` });
const stored = (consumerRef: string, seq: number) => ({
  consumerRef,
  sealed: `sealed:${consumerRef}`,
  seq,
  messageId: `camp1.${seq}`,
});
const added = (batch: number, recipients: ReturnType<typeof stored>[]): CampaignEvent => ({
  type: 'RecipientsAdded',
  data: { accountId, campaignId, batch, recipients },
});
const firstBatch = added(0, [stored('ref-a', 0), stored('ref-b', 1)]);
const scheduled: CampaignEvent = { type: 'CampaignScheduled', data: { accountId, campaignId, sendAt: later } };
const published: CampaignEvent = { type: 'CampaignPublished', data: { accountId, campaignId, publishedAt: now } };
const started: CampaignEvent = {
  type: 'CampaignStarted',
  data: { accountId, campaignId, recipientCount: 2, startedAt: now },
};
const completed: CampaignEvent = { type: 'CampaignCompleted', data: { accountId, campaignId, completedAt: later } };
const cancelled: CampaignEvent = {
  type: 'CampaignCancelled',
  data: { accountId, campaignId, reason: 'typo', cancelledBy: 'u-admin' },
};
const failed: CampaignEvent = { type: 'CampaignFailed', data: { accountId, campaignId, reason: 'sender revoked' } };

/** One history per status a campaign can be in. */
const histories: Record<Exclude<campaign.CampaignStatus, 'none'>, CampaignEvent[]> = {
  draft: [drafted, firstBatch],
  scheduled: [drafted, firstBatch, scheduled],
  queued: [drafted, firstBatch, published],
  in_progress: [drafted, firstBatch, published, started],
  completed: [drafted, firstBatch, published, started, completed],
  cancelled: [drafted, firstBatch, published, cancelled],
  failed: [drafted, firstBatch, published, failed],
};
const inStates = (...statuses: (keyof typeof histories)[]) =>
  statuses.map((status) => ({ status, history: histories[status] }));

const addRecipients = (refs: string[], rows?: number[]): CampaignCommand => ({
  type: 'AddRecipients',
  accountId,
  campaignId,
  recipients: refs.map(incoming),
  ...(rows ? { rows } : {}),
});
const publish: CampaignCommand = { type: 'Publish', accountId, campaignId, now };
const start: CampaignCommand = { type: 'Start', accountId, campaignId, now };
const complete: CampaignCommand = { type: 'Complete', accountId, campaignId, now: later };
const cancel: CampaignCommand = { type: 'Cancel', accountId, campaignId, reason: 'typo', cancelledBy: 'u-admin' };
const fail: CampaignCommand = { type: 'Fail', accountId, campaignId, reason: 'sender revoked' };

const everyCommandButDraft: CampaignCommand[] = [addRecipients(['ref-z']), publish, start, complete, cancel, fail];

describe('campaign decider', () => {
  describe('a campaign that does not exist', () => {
    it.each(everyCommandButDraft.map((command) => ({ command })))(
      'refuses $command.type with CAMPAIGN_NOT_FOUND',
      ({ command }) => {
        given([]).when(command).thenThrows('CAMPAIGN_NOT_FOUND');
      },
    );

    it.each(everyCommandButDraft.map((command) => ({ command })))(
      'refuses $command.type from another account with CAMPAIGN_NOT_FOUND',
      ({ command }) => {
        given(histories.in_progress)
          .when({ ...command, accountId: 'other' })
          .thenThrows('CAMPAIGN_NOT_FOUND');
      },
    );
  });

  describe('DraftCampaign', () => {
    it('drafts a new campaign', () => {
      given([]).when(draft).then([drafted]);
    });

    it('requires consent', () => {
      given([])
        .when({ ...draft, consent: false })
        .thenThrows('CONSENT_REQUIRED');
    });

    it.each(inStates('draft', 'scheduled', 'queued', 'in_progress', 'completed', 'cancelled', 'failed'))(
      'refuses a campaign id already taken by a $status campaign',
      ({ history }) => {
        given(history).when(draft).thenThrows('CAMPAIGN_EXISTS');
      },
    );
  });

  describe('AddRecipients', () => {
    it('numbers the first recipients from zero, in batch 0', () => {
      given([drafted])
        .when(addRecipients(['ref-a', 'ref-b']))
        .then([firstBatch]);
    });

    it('continues the sequence and the batch number after earlier batches', () => {
      given([drafted, firstBatch])
        .when(addRecipients(['ref-c']))
        .then([added(1, [stored('ref-c', 2)])]);
    });

    it('puts exactly 1,000 recipients in one event', () => {
      const refs = Array.from({ length: 1000 }, (_, i) => `ref-${i}`);
      given([drafted])
        .when(addRecipients(refs))
        .then([
          added(
            0,
            refs.map((ref, i) => stored(ref, i)),
          ),
        ]);
    });

    it('splits more than 1,000 recipients into events of at most 1,000', () => {
      const refs = Array.from({ length: 2001 }, (_, i) => `ref-${i}`);
      const all = refs.map((ref, i) => stored(ref, i));
      given([drafted])
        .when(addRecipients(refs))
        .then([added(0, all.slice(0, 1000)), added(1, all.slice(1000, 2000)), added(2, [stored('ref-2000', 2000)])]);
    });

    it('rejects a number already on the campaign as DUPLICATE_NUMBER, at the row given', () => {
      given([drafted, firstBatch])
        .when(addRecipients(['ref-c', 'ref-a'], [7, 8]))
        .then([
          added(1, [stored('ref-c', 2)]),
          {
            type: 'RecipientsRejected',
            data: { accountId, campaignId, rejections: [{ row: 8, code: 'DUPLICATE_NUMBER' }] },
          },
        ]);
    });

    it('rejects a number repeated within one command, and the rejected row uses no sequence number', () => {
      given([drafted])
        .when(addRecipients(['ref-a', 'ref-a', 'ref-b']))
        .then([
          added(0, [stored('ref-a', 0), stored('ref-b', 1)]),
          {
            type: 'RecipientsRejected',
            data: { accountId, campaignId, rejections: [{ row: 1, code: 'DUPLICATE_NUMBER' }] },
          },
        ]);
    });

    it('emits only the rejection when every number is a duplicate', () => {
      given([drafted, firstBatch])
        .when(addRecipients(['ref-b', 'ref-a']))
        .then([
          {
            type: 'RecipientsRejected',
            data: {
              accountId,
              campaignId,
              rejections: [
                { row: 0, code: 'DUPLICATE_NUMBER' },
                { row: 1, code: 'DUPLICATE_NUMBER' },
              ],
            },
          },
        ]);
    });

    it('decides nothing for an empty list', () => {
      given([drafted]).when(addRecipients([])).then([]);
    });

    it.each(inStates('scheduled', 'queued', 'in_progress', 'completed', 'cancelled', 'failed'))(
      'refuses recipients for a $status campaign with CAMPAIGN_NOT_DRAFT',
      ({ history }) => {
        given(history)
          .when(addRecipients(['ref-z']))
          .thenThrows('CAMPAIGN_NOT_DRAFT');
      },
    );
  });

  describe('Publish', () => {
    it('queues a draft at once when there is no send time', () => {
      given([drafted, firstBatch]).when(publish).then([published]);
    });

    it('schedules a draft whose send time is in the future', () => {
      given([drafted, firstBatch])
        .when({ ...publish, sendAt: later })
        .then([scheduled]);
    });

    it('queues at once when the send time is now or past', () => {
      given([drafted, firstBatch])
        .when({ ...publish, sendAt: now })
        .then([published]);
      given([drafted, firstBatch])
        .when({ ...publish, sendAt: earlier })
        .then([published]);
    });

    it('refuses a draft without recipients with NO_RECIPIENTS', () => {
      given([drafted]).when(publish).thenThrows('NO_RECIPIENTS');
    });

    it('refuses a draft whose every recipient was rejected with NO_RECIPIENTS', () => {
      const onlyRejected: CampaignEvent = {
        type: 'RecipientsRejected',
        data: { accountId, campaignId, rejections: [{ row: 0, code: 'DUPLICATE_NUMBER' }] },
      };
      given([drafted, onlyRejected]).when(publish).thenThrows('NO_RECIPIENTS');
    });

    it.each(inStates('scheduled', 'queued', 'in_progress', 'completed', 'cancelled', 'failed'))(
      'refuses to publish a $status campaign with CAMPAIGN_NOT_DRAFT',
      ({ history }) => {
        given(history).when(publish).thenThrows('CAMPAIGN_NOT_DRAFT');
      },
    );
  });

  describe('Start', () => {
    it('starts a queued campaign with its recipient count', () => {
      given(histories.queued).when(start).then([started]);
    });

    it('counts the recipients of every batch, not the rejected ones', () => {
      const second = added(1, [stored('ref-c', 2)]);
      const rejected: CampaignEvent = {
        type: 'RecipientsRejected',
        data: { accountId, campaignId, rejections: [{ row: 3, code: 'DUPLICATE_NUMBER' }] },
      };
      given([drafted, firstBatch, second, rejected, published])
        .when(start)
        .then([{ type: 'CampaignStarted', data: { accountId, campaignId, recipientCount: 3, startedAt: now } }]);
    });

    it('starts a scheduled campaign once its send time has come', () => {
      given(histories.scheduled)
        .when({ ...start, now: later })
        .then([{ type: 'CampaignStarted', data: { accountId, campaignId, recipientCount: 2, startedAt: later } }]);
      const afterSendAt = '2026-11-24T12:00:01.000Z';
      given(histories.scheduled)
        .when({ ...start, now: afterSendAt })
        .then([
          { type: 'CampaignStarted', data: { accountId, campaignId, recipientCount: 2, startedAt: afterSendAt } },
        ]);
    });

    it('refuses a scheduled campaign before its send time with CAMPAIGN_NOT_DUE', () => {
      given(histories.scheduled).when(start).thenThrows('CAMPAIGN_NOT_DUE');
    });

    it.each(inStates('draft', 'in_progress', 'completed', 'cancelled', 'failed'))(
      'refuses to start a $status campaign with CAMPAIGN_NOT_STARTABLE',
      ({ history }) => {
        given(history).when(start).thenThrows('CAMPAIGN_NOT_STARTABLE');
      },
    );
  });

  describe('Complete', () => {
    it('completes a campaign in progress', () => {
      given(histories.in_progress).when(complete).then([completed]);
    });

    it.each(inStates('draft', 'scheduled', 'queued', 'completed', 'cancelled', 'failed'))(
      'refuses to complete a $status campaign with CAMPAIGN_NOT_IN_PROGRESS',
      ({ history }) => {
        given(history).when(complete).thenThrows('CAMPAIGN_NOT_IN_PROGRESS');
      },
    );
  });

  describe('Cancel', () => {
    it.each(inStates('scheduled', 'queued', 'in_progress'))('cancels a $status campaign', ({ history }) => {
      given(history).when(cancel).then([cancelled]);
    });

    it.each(inStates('draft', 'completed', 'cancelled', 'failed'))(
      'refuses to cancel a $status campaign with CAMPAIGN_NOT_CANCELLABLE',
      ({ history }) => {
        given(history).when(cancel).thenThrows('CAMPAIGN_NOT_CANCELLABLE');
      },
    );
  });

  describe('Fail', () => {
    it.each(inStates('draft', 'scheduled', 'queued', 'in_progress'))(
      'fails a $status campaign with the reason given',
      ({ history }) => {
        given(history).when(fail).then([failed]);
      },
    );

    it.each(inStates('completed', 'cancelled'))('a $status campaign stays finished: it cannot fail', ({ history }) => {
      given(history).when(fail).thenThrows('CAMPAIGN_FINISHED');
    });

    it('failing a failed campaign again decides nothing', () => {
      given(histories.failed)
        .when({ ...fail, reason: 'another reason' })
        .then([]);
    });
  });

  describe('status helpers', () => {
    it('only scheduled, queued and in-progress campaigns are cancellable', () => {
      expect(campaign.CAMPAIGN_STATUSES.filter(campaign.isCancellable)).toEqual(['scheduled', 'queued', 'in_progress']);
      expect(campaign.isCancellable('none')).toBe(false);
    });

    it('completed, cancelled and failed are terminal', () => {
      expect(campaign.CAMPAIGN_STATUSES.filter(campaign.isTerminal)).toEqual(['completed', 'cancelled', 'failed']);
      expect(campaign.isTerminal('none')).toBe(false);
    });

    it('names message ids after the campaign and the sequence', () => {
      expect(campaign.messageIdFor('camp1', 41)).toBe('camp1.41');
      expect(campaign.campaignStream('camp1')).toBe('campaign-camp1');
    });
  });
});
