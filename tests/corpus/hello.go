// Corpus program: a Go program (the Go runtime starts several threads).
package main

import "fmt"

func main() {
	sum := 0
	for i := 1; i <= 100; i++ {
		sum += i
	}
	fmt.Println("go says", sum)
}
