import { DateTime } from 'luxon';
import { WEEKDAYS, type WeeklyWindow } from './account-settings.ts';

/**
 * Off-hours guardrails (F13): a message goes out only while the receiving window is open in the recipient's local
 * time. A number can map to several zones (a country, an area code spanning zones); then the window must be open
 * in all of them at once. Windows that never overlap, or no known zone, fall back to the account's default zone.
 */

export const DEFAULT_SMS_WINDOW: WeeklyWindow = Object.fromEntries(
  WEEKDAYS.map((day) => [day, { start: '08:00', end: '21:00' }]),
) as WeeklyWindow;

const SEARCH_DAYS = 8;

function minutes(time: string): number {
  const [hours, mins] = time.split(':').map(Number);
  return hours! * 60 + mins!;
}

/** Open at this instant in this zone? `window` null means always open. */
export function isOpenAt(window: WeeklyWindow | null, zone: string, instant: DateTime): boolean {
  if (!window) return true;
  const local = instant.setZone(zone);
  const day = window[WEEKDAYS[local.weekday - 1]!];
  if (!day) return false;
  const now = local.hour * 60 + local.minute;
  return now >= minutes(day.start) && now < minutes(day.end);
}

/** The instants at which a window opens in a zone, from the day before `from` for `days` days. */
function openings(window: WeeklyWindow, zone: string, from: DateTime, days: number): DateTime[] {
  const result: DateTime[] = [];
  const start = from.setZone(zone).startOf('day').minus({ days: 1 });
  for (let offset = 0; offset <= days; offset++) {
    const date = start.plus({ days: offset });
    const day = window[WEEKDAYS[date.weekday - 1]!];
    if (!day) continue;
    const at = minutes(day.start);
    // In a DST gap, luxon moves the wall time forward, which is what a person would expect.
    result.push(date.set({ hour: Math.floor(at / 60), minute: at % 60, second: 0, millisecond: 0 }));
  }
  return result;
}

function earliestCommonOpening(window: WeeklyWindow, zones: string[], now: DateTime): DateTime | null {
  if (zones.every((zone) => isOpenAt(window, zone, now))) return now;
  // A common opening starts when the last of the zones opens, so the candidates are the zones' opening instants.
  const candidates = zones
    .flatMap((zone) => openings(window, zone, now, SEARCH_DAYS))
    .filter((instant) => instant > now)
    .sort((a, b) => a.toMillis() - b.toMillis());
  return candidates.find((instant) => zones.every((zone) => isOpenAt(window, zone, instant))) ?? null;
}

export type WindowDecision = { open: true; zones: string[] } | { open: false; until: Date; zones: string[] };

export function nextOpening(input: {
  zones: string[] | null;
  window: WeeklyWindow | null;
  now: Date;
  defaultZone: string;
}): WindowDecision {
  const now = DateTime.fromJSDate(input.now, { zone: 'utc' });
  const known = (input.zones ?? []).filter((zone) => DateTime.now().setZone(zone).isValid);
  const fallback = [DateTime.now().setZone(input.defaultZone).isValid ? input.defaultZone : 'UTC'];
  if (!input.window) return { open: true, zones: known.length ? known : fallback };
  for (const zones of known.length ? [known, fallback] : [fallback]) {
    const opening = earliestCommonOpening(input.window, zones, now);
    if (!opening) continue;
    return opening.toMillis() === now.toMillis()
      ? { open: true, zones }
      : { open: false, until: opening.toJSDate(), zones };
  }
  // A window closed every day: nothing to wait for. It is refused when set, so this only guards bad data.
  return { open: true, zones: fallback };
}
