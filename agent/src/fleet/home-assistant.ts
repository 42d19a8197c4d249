// Home Assistant MQTT discovery (opt-in per box: mqtt.homeAssistant.enabled): retained configs
// under <discoveryPrefix>/<component>/gate64-<id>/<object>/config that point Home Assistant at the
// box's own state, availability and telemetry topics, so it needs nothing but the broker.
// Pure: the messages, as data; the fleet agent publishes them (docs/protocol.md#home-assistant).
import type { Topics } from "./protocol.js";

export interface DiscoveryMessage {
  topic: string;
  /** Empty: remove the entity (the box turned discovery off). */
  payload: string;
}

interface Entity {
  component: "sensor" | "binary_sensor" | "update";
  object: string;
  config: Record<string, unknown>;
}

/** Online while the box says init or ready; its will says lost. */
const AVAILABILITY_TEMPLATE = "{{ 'online' if value in ('init', 'ready') else 'offline' }}";

function entities(id: string, t: Topics): Entity[] {
  const telemetry = t.telemetry(id);
  const state = t.state(id);
  const sensor = (object: string, name: string, field: string, extra: Record<string, unknown>): Entity => ({
    component: "sensor",
    object,
    config: { name, state_topic: telemetry, value_template: `{{ value_json.${field} }}`, state_class: "measurement", ...extra },
  });
  return [
    {
      component: "binary_sensor",
      object: "health",
      config: {
        name: "Health problem",
        device_class: "problem",
        state_topic: state,
        value_template: "{{ 'OFF' if value_json.health == 'ok' else 'ON' }}",
      },
    },
    sensor("nat64_sessions", "NAT64 sessions", "nat64Sessions", { icon: "mdi:swap-horizontal" }),
    sensor("pool4_use", "pool4 use", "pool4UsePercent", { unit_of_measurement: "%" }),
    sensor("dns_queries", "DNS queries", "dnsQueriesPerSec", { unit_of_measurement: "queries/s" }),
    sensor("uptime", "Uptime", "uptimeSec", { device_class: "duration", unit_of_measurement: "s", state_class: "total_increasing" }),
    {
      component: "update",
      object: "firmware",
      config: {
        name: "Firmware",
        state_topic: state,
        // Installed: what runs. Latest: the version an update in progress is going to. Subscripts,
        // not dots: in Jinja value_json.update is the dict's update() method.
        value_template: "{{ value_json.firmware }}",
        latest_version_topic: state,
        latest_version_template:
          "{% set u = value_json['update'] %}{{ u['targetVersion'] if u and u['targetVersion'] and u['phase'] in ('downloading', 'installing', 'rebooting', 'verifying') else value_json.firmware }}",
      },
    },
  ];
}

export function discoveryMessages(o: {
  id: string;
  t: Topics;
  discoveryPrefix: string;
  firmware: string;
  enabled: boolean;
}): DiscoveryMessage[] {
  // Device ids are lowercase letters, digits and dashes, which node ids allow: the broker's ACL
  // can name the box's own discovery topics (homeassistant/+/gate64-%u/+/config).
  const node = `gate64-${o.id}`;
  const device = {
    identifiers: [node],
    name: `gate64 ${o.id}`,
    manufacturer: "gate64",
    model: "NAT64/DNS64 gateway",
    sw_version: o.firmware,
  };
  return entities(o.id, o.t).map((e) => ({
    topic: `${o.discoveryPrefix}/${e.component}/${node}/${e.object}/config`,
    payload: o.enabled
      ? JSON.stringify({
          ...e.config,
          unique_id: `${node}_${e.object}`,
          object_id: `${node}_${e.object}`,
          availability: [{ topic: o.t.availability(o.id), value_template: AVAILABILITY_TEMPLATE }],
          device,
        })
      : "",
  }));
}
