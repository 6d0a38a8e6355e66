import type { InAppDeviceEvent } from '../src/domain/inapp.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** F6: the registered in-app devices, for Settings' counts and the sandbox device; erased consumers leave it. */
export const inAppDevicesProjection: Projection = {
  name: 'inapp-devices',
  tables: ['inapp_devices'],
  handles: ['InAppDeviceRegistered', 'InAppDeviceRemoved', 'ConsumerErased'],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      if (recorded.type === 'ConsumerErased') {
        const data = recorded.data as { accountId: string; consumerRef: string };
        await trx(table('inapp_devices'))
          .where({ account_id: data.accountId, consumer_ref: data.consumerRef })
          .delete();
        continue;
      }
      const event = { type: recorded.type, data: recorded.data } as InAppDeviceEvent;
      if (event.type === 'InAppDeviceRegistered') {
        await trx(table('inapp_devices'))
          .insert({
            account_id: event.data.accountId,
            device_id: event.data.deviceId,
            consumer_ref: event.data.consumerRef,
            app_id: event.data.appId,
            platform: event.data.platform,
            time_zone: event.data.timeZone,
            sealed_token: event.data.sealedToken,
            registered_at: event.data.registeredAt,
          })
          .onConflict(['account_id', 'device_id'])
          .merge();
      } else {
        await trx(table('inapp_devices'))
          .where({ account_id: event.data.accountId, device_id: event.data.deviceId })
          .delete();
      }
    }
  },
};
