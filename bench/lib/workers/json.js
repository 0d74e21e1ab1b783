// bench: the JSON worker.  Parses the URL, builds an object of about twenty
// fields from it, round-trips it through JSON text, answers Response.json.
export default {
  fetch(request) {
    const url = new URL(request.url);
    const q = url.searchParams;
    const id = Number(q.get('id') || '0');
    const item = {
      id,
      sku: 'SKU-' + String(id).padStart(6, '0'),
      name: q.get('name') || 'unnamed',
      path: url.pathname,
      host: url.hostname,
      method: request.method,
      search: url.search,
      active: id % 2 === 0,
      price: 19.99,
      quantity: 3,
      discount: 0.1,
      currency: 'EUR',
      stock: 1200,
      tags: ['alpha', 'beta', 'gamma'],
      ratings: [5, 4, 5, 3],
      dimensions: { width: 10, height: 20, depth: 5, unit: 'cm' },
      owner: { id: 7, name: 'Ada Lovelace', email: 'ada@example.com' },
      createdAt: '2026-11-28T12:00:00.000Z',
      updatedAt: null,
      description: 'An object of about twenty fields for the JSON benchmark',
    };
    const copy = JSON.parse(JSON.stringify(item));
    copy.total = Math.round(copy.price * copy.quantity * (1 - copy.discount) * 100) / 100;
    return Response.json(copy);
  },
};
