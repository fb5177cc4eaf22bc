import type { GraphJson, NodeTypeInfo } from "../api/types";
import { channelLabel, channelRows, channelTotals, MEASURE_LABELS, MEASURES, type ChannelAnalytics } from "./channels";

interface ChannelsSectionProps {
  channels: ChannelAnalytics;
  graph: GraphJson;
  types: ReadonlyMap<string, NodeTypeInfo>;
}

/** Each send step's messages by channel, and the channels' totals: what went out, what came of it, what was held. */
export function ChannelsSection({ channels, graph, types }: ChannelsSectionProps) {
  const rows = channelRows(channels, graph, types);
  const totals = channelTotals(channels);
  return (
    <section className="analytics-section" aria-labelledby="channels-title">
      <h2 id="channels-title">Messages by channel</h2>
      {rows.length === 0 ? (
        <p className="empty">No message has been sent by this workflow yet: its send steps’ figures appear here once they run.</p>
      ) : (
        <>
          <p className="muted">
            Engaged counts opens and clicks (a message opened twice counts twice). Deferred counts each time a step was
            put off; those messages go out later and are counted as sent then.
          </p>
          <div className="channels-scroll">
            <table className="analytics-table channels-table" aria-label="Messages by step and channel">
              <thead>
                <tr>
                  <th scope="col">Step</th>
                  <th scope="col">Channel</th>
                  {MEASURES.map((measure) => (
                    <th scope="col" key={measure}>{MEASURE_LABELS[measure]}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <tr key={`${row.nodeId}:${row.channel}`} data-node={row.nodeId} data-channel={row.channel}>
                    <th scope="row">{row.step}</th>
                    <td>{channelLabel(row.channel)}</td>
                    {MEASURES.map((measure) => (
                      <td key={measure} data-cell={measure}>{row.figures[measure].toLocaleString("en")}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
              <tfoot>
                {totals.map((total) => (
                  <tr key={total.channel} data-total={total.channel}>
                    <th scope="row">All steps</th>
                    <td>{channelLabel(total.channel)}</td>
                    {MEASURES.map((measure) => (
                      <td key={measure} data-cell={measure}>{total.figures[measure].toLocaleString("en")}</td>
                    ))}
                  </tr>
                ))}
              </tfoot>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
