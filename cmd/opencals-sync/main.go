// Command opencals-sync turns Opencals' polling API into the webhook events
// Opencals has announced, and delivers them to the merchant's handlers.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "opencals-sync:", err)
		os.Exit(exitCode(err))
	}
}
