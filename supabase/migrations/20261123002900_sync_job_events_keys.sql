-- sync.job_events: one index instead of three.
--
-- Every transition appends an event, so each index on this table is paid on every claim,
-- completion, retry and checkpoint that changes status. Events are only ever read per job
-- (the job's history, in order) and deleted per job (cleanup's cascade), so a primary
-- key on (job_id, id) serves every reader:
--   - it replaces job_events_job_idx, which had the same columns;
--   - the bare `id` key was never looked up: `id` is an identity, unique by construction,
--     and only orders a job's events;
--   - job_events_owner_idx served a listing of all of an owner's events that nothing
--     reads. RLS still filters by owner; users reach events through their jobs.
-- BENCHMARKS.md (queue) has the measurement.
alter table sync.job_events drop constraint job_events_pkey;
drop index sync.job_events_job_idx;
drop index sync.job_events_owner_idx;
alter table sync.job_events add constraint job_events_pkey primary key (job_id, id);
