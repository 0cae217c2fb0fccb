-- Roles and schema for each service that has tables (compose runs this once, as the superuser, on an empty
-- data volume). Each service connects as a runtime role that does not own its schema; the owner role runs
-- migrations. Change the passwords for anything but a local trial.
CREATE ROLE kefu_intake_owner LOGIN PASSWORD 'kefu_intake_owner';
CREATE ROLE kefu_intake LOGIN PASSWORD 'kefu_intake';
GRANT CONNECT ON DATABASE kefu TO kefu_intake_owner, kefu_intake;
CREATE SCHEMA intake AUTHORIZATION kefu_intake_owner;
GRANT USAGE ON SCHEMA intake TO kefu_intake;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_intake_owner IN SCHEMA intake
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_intake;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_intake_owner IN SCHEMA intake
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO kefu_intake;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_intake_owner IN SCHEMA intake
  GRANT EXECUTE ON FUNCTIONS TO kefu_intake;

CREATE ROLE kefu_customer_owner LOGIN PASSWORD 'kefu_customer_owner';
CREATE ROLE kefu_customer LOGIN PASSWORD 'kefu_customer';
GRANT CONNECT ON DATABASE kefu TO kefu_customer_owner, kefu_customer;
CREATE SCHEMA customer AUTHORIZATION kefu_customer_owner;
GRANT USAGE ON SCHEMA customer TO kefu_customer;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_customer_owner IN SCHEMA customer
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_customer;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_customer_owner IN SCHEMA customer
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO kefu_customer;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_customer_owner IN SCHEMA customer
  GRANT EXECUTE ON FUNCTIONS TO kefu_customer;

CREATE ROLE kefu_routing_owner LOGIN PASSWORD 'kefu_routing_owner';
CREATE ROLE kefu_routing LOGIN PASSWORD 'kefu_routing';
GRANT CONNECT ON DATABASE kefu TO kefu_routing_owner, kefu_routing;
CREATE SCHEMA routing AUTHORIZATION kefu_routing_owner;
GRANT USAGE ON SCHEMA routing TO kefu_routing;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_routing_owner IN SCHEMA routing
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_routing;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_routing_owner IN SCHEMA routing
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO kefu_routing;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_routing_owner IN SCHEMA routing
  GRANT EXECUTE ON FUNCTIONS TO kefu_routing;

CREATE ROLE kefu_slatimer_owner LOGIN PASSWORD 'kefu_slatimer_owner';
CREATE ROLE kefu_slatimer LOGIN PASSWORD 'kefu_slatimer';
GRANT CONNECT ON DATABASE kefu TO kefu_slatimer_owner, kefu_slatimer;
CREATE SCHEMA slatimer AUTHORIZATION kefu_slatimer_owner;
GRANT USAGE ON SCHEMA slatimer TO kefu_slatimer;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_slatimer_owner IN SCHEMA slatimer
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_slatimer;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_slatimer_owner IN SCHEMA slatimer
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO kefu_slatimer;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_slatimer_owner IN SCHEMA slatimer
  GRANT EXECUTE ON FUNCTIONS TO kefu_slatimer;

CREATE ROLE kefu_analytics_owner LOGIN PASSWORD 'kefu_analytics_owner';
CREATE ROLE kefu_analytics LOGIN PASSWORD 'kefu_analytics';
GRANT CONNECT ON DATABASE kefu TO kefu_analytics_owner, kefu_analytics;
CREATE SCHEMA analytics AUTHORIZATION kefu_analytics_owner;
GRANT USAGE ON SCHEMA analytics TO kefu_analytics;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_analytics_owner IN SCHEMA analytics
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_analytics;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_analytics_owner IN SCHEMA analytics
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO kefu_analytics;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_analytics_owner IN SCHEMA analytics
  GRANT EXECUTE ON FUNCTIONS TO kefu_analytics;

CREATE ROLE kefu_notify_owner LOGIN PASSWORD 'kefu_notify_owner';
CREATE ROLE kefu_notify LOGIN PASSWORD 'kefu_notify';
GRANT CONNECT ON DATABASE kefu TO kefu_notify_owner, kefu_notify;
CREATE SCHEMA notify AUTHORIZATION kefu_notify_owner;
GRANT USAGE ON SCHEMA notify TO kefu_notify;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_notify_owner IN SCHEMA notify
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_notify;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_notify_owner IN SCHEMA notify
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO kefu_notify;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_notify_owner IN SCHEMA notify
  GRANT EXECUTE ON FUNCTIONS TO kefu_notify;

CREATE ROLE kefu_kb_owner LOGIN PASSWORD 'kefu_kb_owner';
CREATE ROLE kefu_kb LOGIN PASSWORD 'kefu_kb';
GRANT CONNECT ON DATABASE kefu TO kefu_kb_owner, kefu_kb;
CREATE SCHEMA kb AUTHORIZATION kefu_kb_owner;
GRANT USAGE ON SCHEMA kb TO kefu_kb;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_kb_owner IN SCHEMA kb
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_kb;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_kb_owner IN SCHEMA kb
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO kefu_kb;
ALTER DEFAULT PRIVILEGES FOR ROLE kefu_kb_owner IN SCHEMA kb
  GRANT EXECUTE ON FUNCTIONS TO kefu_kb;
