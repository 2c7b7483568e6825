/** The loading state of one fragment, shown until its HTML streams in. */
export function Spinner({ label }: { label: string }) {
  return (
    <div className="spinner" role="status" aria-label={label}>
      {/* eslint-disable-next-line @next/next/no-img-element -- a tiny animated SVG needs no optimisation */}
      <img src="/spinner.svg" alt="" width={32} height={32} />
      <span aria-hidden="true">Loading…</span>
    </div>
  );
}
