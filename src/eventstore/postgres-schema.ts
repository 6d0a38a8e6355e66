/**
 * The Postgres event store's schema. Every row carries the writing transaction's id (xid8). Readers only see
 * rows whose transaction id is below the oldest still-running transaction (snapshot xmin), and they order by
 * (transaction_id, position): a transaction that commits late can then never slip in behind a reader's
 * checkpoint, which plain sequence order would allow.
 *
 * `es_append` does a whole append in one round trip: the stream's advisory lock, taken before the transaction
 * has an id (so that a stream's revisions and the global order agree), the expected-version check on
 * `es_streams`, and the insert of every event. It does not NOTIFY: a NOTIFY takes a global lock held through commit, which would serialise
 * every append's fsync and defeat group commit. The adapter notifies after the fact instead, coalesced.
 */
export const SCHEMA_SQL = `
create table if not exists es_streams (
  stream_id text primary key,
  version bigint not null
);

create table if not exists es_events (
  position bigint generated always as identity primary key,
  transaction_id xid8 not null default pg_current_xact_id(),
  stream_id text not null,
  revision bigint not null,
  event_id uuid not null,
  type text not null,
  data jsonb not null,
  metadata jsonb not null,
  created_at timestamptz not null default clock_timestamp(),
  unique (stream_id, revision)
);

create index if not exists es_events_global_order on es_events (transaction_id, position);
create unique index if not exists es_events_event_id on es_events (event_id);

-- expected: -1 no stream, -2 any, -3 stream exists, n >= 0 exact revision of the last event.
-- events: a JSON array of {id?, type, data, metadata}; one parameter keeps the client's encoding work small.
drop function if exists es_append(text, bigint, uuid[], text[], jsonb[], jsonb[]);
create or replace function es_append(p_stream text, p_expected bigint, p_events jsonb)
returns table (next_revision bigint, last_position bigint, tx xid8)
language plpgsql as $$
declare
  n bigint := jsonb_array_length(p_events);
  new_version bigint;
  current_version bigint;
begin
  -- The stream's lock first, before this transaction has an id: a writer that waited for another one's append
  -- to the same stream then gets a later transaction id, so global order keeps every stream's revision order.
  perform pg_advisory_xact_lock(17747, hashtext(p_stream));
  if p_expected = -1 then
    insert into es_streams (stream_id, version) values (p_stream, n - 1)
      on conflict (stream_id) do nothing
      returning version into new_version;
  elsif p_expected = -2 then
    insert into es_streams (stream_id, version) values (p_stream, n - 1)
      on conflict (stream_id) do update set version = es_streams.version + n
      returning version into new_version;
  elsif p_expected = -3 then
    update es_streams set version = version + n where stream_id = p_stream
      returning version into new_version;
  else
    update es_streams set version = version + n where stream_id = p_stream and version = p_expected
      returning version into new_version;
  end if;

  if new_version is null then
    select version into current_version from es_streams where stream_id = p_stream;
    raise exception using
      errcode = 'P0001',
      message = 'wrong_expected_version',
      detail = coalesce(current_version::text, 'no_stream');
  end if;

  return query
    with inserted as (
      insert into es_events (stream_id, revision, event_id, type, data, metadata)
      select p_stream, new_version - n + e.ordinality,
             coalesce((e.value->>'id')::uuid, gen_random_uuid()), e.value->>'type', e.value->'data', e.value->'metadata'
      from jsonb_array_elements(p_events) with ordinality as e(value, ordinality)
      order by e.ordinality
      returning position
    )
    select new_version, max(position), pg_current_xact_id() from inserted;
end;
$$;

-- Many streams in one transaction: p_appends is a JSON array of {s: stream, x: expected code, e: events}. Each
-- stream's outcome is a row (ord: its index in the array); a stream whose expectation fails gets its actual
-- version in "conflict" and nothing written, the others are written. Streams are locked in one order (by id),
-- so that concurrent multi-stream appends never deadlock.
create or replace function es_append_many(p_appends jsonb)
returns table (ord int, next_revision bigint, last_position bigint, tx xid8, conflict text)
language plpgsql as $$
declare
  a record;
  n bigint;
  new_version bigint;
  current_version bigint;
begin
  -- Every stream's lock first, in one order (by key) so that none waits in a circle, and before this transaction
  -- has an id (see es_append).
  perform pg_advisory_xact_lock(17747, k)
    from (select distinct hashtext(x.value->>'s') as k from jsonb_array_elements(p_appends) as x(value) order by 1) keys;
  for a in
    select (x.ordinality - 1)::int as i, x.value->>'s' as stream, (x.value->>'x')::bigint as expected,
           x.value->'e' as events
    from jsonb_array_elements(p_appends) with ordinality as x(value, ordinality)
    order by x.value->>'s' collate "C"
  loop
    n := jsonb_array_length(a.events);
    new_version := null;
    if a.expected = -1 then
      insert into es_streams (stream_id, version) values (a.stream, n - 1)
        on conflict (stream_id) do nothing
        returning version into new_version;
    elsif a.expected = -2 then
      insert into es_streams (stream_id, version) values (a.stream, n - 1)
        on conflict (stream_id) do update set version = es_streams.version + n
        returning version into new_version;
    elsif a.expected = -3 then
      update es_streams set version = version + n where stream_id = a.stream
        returning version into new_version;
    else
      update es_streams set version = version + n where stream_id = a.stream and version = a.expected
        returning version into new_version;
    end if;
    ord := a.i;
    if new_version is null then
      select version into current_version from es_streams where stream_id = a.stream;
      next_revision := null;
      last_position := null;
      tx := null;
      conflict := coalesce(current_version::text, 'no_stream');
    else
      with inserted as (
        insert into es_events (stream_id, revision, event_id, type, data, metadata)
        select a.stream, new_version - n + e.ordinality,
               coalesce((e.value->>'id')::uuid, gen_random_uuid()), e.value->>'type', e.value->'data',
               e.value->'metadata'
        from jsonb_array_elements(a.events) with ordinality as e(value, ordinality)
        order by e.ordinality
        returning position
      )
      select max(position) into last_position from inserted;
      next_revision := new_version;
      tx := pg_current_xact_id();
      conflict := null;
    end if;
    return next;
  end loop;
end;
$$;
`;

export const ADVISORY_LOCK_KEY = 0x0e5_5c4e;
