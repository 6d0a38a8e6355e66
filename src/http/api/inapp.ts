import type { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import { deviceRegistrationSchema, registerDevice, removeDevice } from '../../app/inapp.ts';
import { waitForProjection } from '../../projections/wait.ts';
import { type ApiGuards, type ApiRegistry, apiErrorSchema, defineApiRoute } from './registry.ts';

/**
 * F6 (DESIGN §10): the brand's backend registers a consumer's device after they log in to its app, and removes it
 * when they log out (scope inapp:write). Only consumers with a device for the campaign's app receive in-app pushes.
 */
export function inAppApiRoutes(app: AppContext, router: Router, registry: ApiRegistry, guards: ApiGuards): void {
  const deps = { ...app, personalData: app.channels.personalData };
  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'post',
      path: '/inapp/consumers/:consumerId/devices',
      summary: 'Register a consumer’s device for in-app pushes (after they log in to the brand’s app)',
      scope: 'inapp:write',
      body: deviceRegistrationSchema,
      responses: {
        201: {
          description: 'Registered (the same token again answers the same id)',
          schema: z.object({ deviceId: z.string() }),
        },
        400: {
          description: 'A field is missing or invalid (named in `field`), or appId is not a registered app',
          schema: apiErrorSchema,
        },
      },
    },
    async (req, res) => {
      const result = await registerDevice(
        deps,
        {
          accountId: String(req.params.accountId),
          consumerId: String(req.params.consumerId),
          registration: req.parsedBody,
        },
        { actor: req.apiClient!.clientId, correlationId: req.requestTraceId },
      );
      if (result.position) await waitForProjection(app.db, 'inapp-devices', result.position, { timeoutMs: 2000 });
      res.status(201).json({ deviceId: result.deviceId });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'delete',
      path: '/inapp/consumers/:consumerId/devices/:deviceId',
      summary: 'Remove a consumer’s device (they logged out): it receives no more in-app pushes',
      scope: 'inapp:write',
      responses: {
        204: { description: 'Removed' },
        404: { description: 'No such device of this consumer', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const consumerRef = await app.channels.personalData.inAppConsumerRef(accountId, String(req.params.consumerId));
      const result = await removeDevice(
        deps,
        { accountId, consumerRef, deviceId: String(req.params.deviceId), reason: 'logout' },
        { actor: req.apiClient!.clientId, correlationId: req.requestTraceId },
      );
      if (result.position) await waitForProjection(app.db, 'inapp-devices', result.position, { timeoutMs: 2000 });
      res.status(204).end();
    },
  );
}
