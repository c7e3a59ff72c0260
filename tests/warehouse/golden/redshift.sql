CREATE SCHEMA IF NOT EXISTS "staging";

SELECT "unit", CAST("grp" AS VARCHAR) AS grp, SUM("value") AS total, PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY "value") AS p95, MAX(DATEDIFF(day, CAST("exposed_at" AS DATE), CAST("event_at" AS DATE))) AS days, MAX("ds") AS last_ds FROM "staging"."unit_days" WHERE "event_at" < DATEADD(day, 7, "exposed_at") AND "ds" >= DATE '2026-03-01' GROUP BY "unit", CAST("grp" AS VARCHAR);

DROP TABLE IF EXISTS "staging"."results_daily";

CREATE TABLE "staging"."results_daily" AS SELECT "unit", CAST("grp" AS VARCHAR) AS grp, SUM("value") AS total, PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY "value") AS p95, MAX(DATEDIFF(day, CAST("exposed_at" AS DATE), CAST("event_at" AS DATE))) AS days, MAX("ds") AS last_ds FROM "staging"."unit_days" WHERE "event_at" < DATEADD(day, 7, "exposed_at") AND "ds" >= DATE '2026-03-01' GROUP BY "unit", CAST("grp" AS VARCHAR);

DELETE FROM "staging"."results_daily" WHERE "last_ds" >= DATE '2026-03-02';

DROP TABLE IF EXISTS "staging"."results_daily";
