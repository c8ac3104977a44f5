-- Who was on duty at an addressed post is recorded by the escalation engine
-- right after the alert commits (on_duty = '' until then), keeping the
-- roster lookup off the path between "send" and the alert reaching every
-- screen. This index is that small work queue.
CREATE INDEX deliveries_unsnapped ON deliveries(alert_id) WHERE on_duty = '';
