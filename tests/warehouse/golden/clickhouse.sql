CREATE DATABASE IF NOT EXISTS `staging`;

SELECT `unit`, CAST(`grp` AS String) AS grp, SUM(`value`) AS total, quantileExactInclusive(0.95)(`value`) AS p95, MAX(dateDiff('day', toDate(`exposed_at`), toDate(`event_at`))) AS days, MAX(`ds`) AS last_ds FROM `staging`.`unit_days` WHERE `event_at` < (`exposed_at` + INTERVAL 7 DAY) AND `ds` >= toDate('2026-03-01') GROUP BY ALL;

CREATE OR REPLACE TABLE `staging`.`results_daily` ENGINE = MergeTree ORDER BY tuple() AS SELECT `unit`, CAST(`grp` AS String) AS grp, SUM(`value`) AS total, quantileExactInclusive(0.95)(`value`) AS p95, MAX(dateDiff('day', toDate(`exposed_at`), toDate(`event_at`))) AS days, MAX(`ds`) AS last_ds FROM `staging`.`unit_days` WHERE `event_at` < (`exposed_at` + INTERVAL 7 DAY) AND `ds` >= toDate('2026-03-01') GROUP BY ALL;

DELETE FROM `staging`.`results_daily` WHERE `last_ds` >= toDate('2026-03-02');

DROP TABLE IF EXISTS `staging`.`results_daily`;
