import type { CertificateListing } from '../../src/tls/certificates.js';
import { Time } from './components.js';

/** The system page's certificate table (loaded after the page, like Docker's disk share). */
export function CertsTable({ listing }: { listing: CertificateListing }) {
  const w = listing.wildcard;
  return (
    <div id="certs-list">
      <p class="small muted">TLS mode: <code>{listing.mode}</code></p>
      {w ? (
        <p id="wildcard">
          Wildcard <b>{w.names.join(', ')}</b> by DNS-01 ({w.provider}):{' '}
          {w.certificate ? <>expires <Time iso={w.certificate.notAfter.toISOString()} />, renews <Time iso={w.renew_at} /></> : <b>no certificate yet</b>}.{' '}
          Last renewal:{' '}
          {w.state.last_result === null ? <span class="muted">never tried</span>
            : w.state.last_result === 'ok' ? <>ok (<Time iso={w.state.last_attempt_at} />)</>
              : <b class="error">failed {w.state.failures}× ({w.state.last_error}); next try <Time iso={w.state.next_attempt_at} /></b>}
        </p>
      ) : null}
      {listing.certificates.length === 0 && listing.problems.length === 0 ? <p class="muted">No certificates (plain HTTP).</p> : (
        <table class="stack" id="certs">
          <thead><tr><th>Hosts</th><th>Issuer</th><th>Expires</th><th>Managed by</th></tr></thead>
          <tbody>
            {listing.certificates.map((c) => (
              <tr>
                <td data-label="Hosts">{c.hosts.join(', ')}{c.names.some((n) => n.startsWith('*.')) ? <span class="muted small"> ({c.names.join(', ')})</span> : null}</td>
                <td data-label="Issuer">{c.issuer}{c.trusted ? null : <span class="muted small"> (not publicly trusted)</span>}</td>
                <td data-label="Expires"><Time iso={c.not_after} /></td>
                <td data-label="Managed by">{c.managed_by === 'hiy' ? 'hiy (DNS-01)' : 'Caddy'}</td>
              </tr>
            ))}
            {listing.problems.map((p) => (
              <tr>
                <td data-label="Hosts">{p.host}</td>
                <td data-label="Issuer" colspan={3}><span class="muted">{p.error}</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
