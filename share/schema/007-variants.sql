-- seqtools schema 7: A/B variants.
--
-- The variant of its step that an attempt went out as (sequence(5)
-- "variants"): its name, NULL when the step has none.  seq-due sets it on
-- every attempt of such a step, skipped ones too, and seq-stats counts each
-- funnel figure per variant from it.

ALTER TABLE sequence_executions ADD COLUMN variant TEXT;

PRAGMA user_version = 7;
