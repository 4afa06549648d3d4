package opencals

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// StoreID returns the id of the API key's store, read from the first item
// of the store-scoped catalog listings. Event ids are derived from it, so
// synthesized events match the ones real webhooks will carry.
func (c *Client) StoreID(ctx context.Context) (string, error) {
	for _, path := range []string{"/storefront/products", "/storefront/staff-members",
		"/storefront/locations"} {
		var page Page[struct {
			StoreID string `json:"storeId"`
		}]
		req := request{method: http.MethodGet, path: path,
			query: url.Values{"page": {"1"}, "take": {"1"}}}
		err := c.do(ctx, req, func(b []byte) error { return json.Unmarshal(b, &page) })
		if err != nil {
			return "", fmt.Errorf("finding the store id: %w", err)
		}
		if len(page.Data) > 0 && page.Data[0].StoreID != "" {
			return page.Data[0].StoreID, nil
		}
	}
	return "", ErrStoreUnknown
}
