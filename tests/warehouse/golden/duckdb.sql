CREATE SCHEMA IF NOT EXISTS "staging";

SELECT "unit", CAST("grp" AS VARCHAR) AS grp, SUM("value") AS total, quantile_cont("value", 0.95) AS p95, MAX(date_diff('day', CAST("exposed_at" AS DATE), CAST("event_at" AS DATE))) AS days, MAX("ds") AS last_ds FROM "staging"."unit_days" WHERE "event_at" < ("exposed_at" + INTERVAL 7 DAY) AND "ds" >= DATE '2026-03-01' GROUP BY ALL;

CREATE OR REPLACE TABLE "staging"."results_daily" AS SELECT "unit", CAST("grp" AS VARCHAR) AS grp, SUM("value") AS total, quantile_cont("value", 0.95) AS p95, MAX(date_diff('day', CAST("exposed_at" AS DATE), CAST("event_at" AS DATE))) AS days, MAX("ds") AS last_ds FROM "staging"."unit_days" WHERE "event_at" < ("exposed_at" + INTERVAL 7 DAY) AND "ds" >= DATE '2026-03-01' GROUP BY ALL;

DELETE FROM "staging"."results_daily" WHERE "last_ds" >= DATE '2026-03-02';

DROP TABLE IF EXISTS "staging"."results_daily";
